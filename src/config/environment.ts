/**
 * The one place Weir reads the process environment. The `weir` entry passes it on to the commands,
 * and the config loader is what interprets it (`WEIR_*` variables, `NO_COLOR`…): everything else
 * gets its settings from the loaded config, so tests can give a command any environment.
 */
export function processEnvironment(): NodeJS.ProcessEnv {
  return process.env;
}
