export { loadConfig, formatProblem, redactedConfig, type ConfigProblem, type LoadConfigOptions } from './load.js';
export { FIELDS, LOG_LEVELS, SCHEMA, SECTIONS, envNameFor, type FieldEntry, type FieldSpec, type LogLevel, type WeirConfig } from './schema.js';
export { AUTO_DISK_BUDGET_SHARE, resolveDiskBudget, storeOptionsFromConfig } from './store-options.js';
export { formatBytes, parseByteSize, parseDurationMs } from './types.js';
