/** Checks flag values before the store is opened, so a typo is a usage error (exit 2), not a runtime one. */
import { WeirError, isWeirError } from '../../errors.js';
import { TOPIC_CONFIG_NAMES, isTopicConfigName, parseTopicConfigs, validateTopicName } from '../../store/topic-config.js';
import { commandName, keyValues, stringValue, type CommandSpec, type OptionValues } from '../spec.js';

function asUsage(err: unknown, spec: Pick<CommandSpec, 'path'>): never {
  if (isWeirError(err)) throw new WeirError('USAGE', err.message, { cause: err, details: { command: commandName(spec) } });
  throw err;
}

export function topicName(values: OptionValues, spec: Pick<CommandSpec, 'path'>): string {
  const name = stringValue(values, 'topic') ?? '';
  try {
    validateTopicName(name);
  } catch (err) {
    asUsage(err, spec);
  }
  return name;
}

/** `--config KEY=VALUE` flags, validated with the store's own topic config parsers. */
export function topicConfigs(values: OptionValues, spec: Pick<CommandSpec, 'path'>): Record<string, string> {
  const entries = keyValues(values, 'config', spec);
  try {
    parseTopicConfigs(entries);
  } catch (err) {
    asUsage(err, spec);
  }
  return entries;
}

export function deletedConfigs(keys: string[], set: Record<string, string>, spec: Pick<CommandSpec, 'path'>): string[] {
  for (const key of keys) {
    if (!isTopicConfigName(key)) {
      throw new WeirError('USAGE', `--delete-config ${key}: unknown topic config (known: ${TOPIC_CONFIG_NAMES.join(', ')})`, {
        details: { command: commandName(spec) },
      });
    }
    if (Object.hasOwn(set, key)) {
      throw new WeirError('USAGE', `${key} is given to both --config and --delete-config`, { details: { command: commandName(spec) } });
    }
  }
  return keys;
}

export const CONFIG_KEYS_DOC = `Keys: ${TOPIC_CONFIG_NAMES.join(', ')}.`;
