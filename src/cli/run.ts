/**
 * Dispatches `weir` arguments to a command and turns errors into what a person at a terminal
 * needs: `weir: <what went wrong>` and a line saying what to do next, on stderr, with exit status
 * 2 for a usage error and 1 for anything else. The process itself is left to the bin entry.
 */
import { WeirError, isWeirError } from '../errors.js';
import { suggest } from '../config/suggest.js';
import { COMMANDS, GROUPS } from './commands/index.js';
import { columns, commandName, indentWrap, parseCommandArgs, renderCommandHelp, type CliContext, type CommandSpec, type OptionSpec } from './spec.js';
import { weirVersion } from '../version.js';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

function topHelp(): string {
  return [
    'weir: a small broker for edge gateways. It keeps every accepted message in a durable,',
    'Kafka-style partitioned log on local flash, takes it in over MQTT and the Kafka protocol,',
    'and mirrors it to central Kafka.',
    '',
    'Usage: weir <command> [options]',
    '',
    'Commands:',
    ...columns([...COMMANDS.map((c) => [c.path.join(' '), c.summary] as const), ['help [COMMAND]', 'Show help for a command'] as const]),
    '',
    'Options:',
    ...columns([['-h, --help', 'Show this help'], ['-V, --version', 'Print the version']]),
    '',
    'Configuration: defaults, then the YAML file given to --config, then environment variables',
    'WEIR_<SECTION>__<FIELD> (e.g. WEIR_STORE__DIR=/srv/weir). See weir.example.yaml and README.md.',
    '',
    'Exit status: 0 success, 1 runtime or configuration error, 2 usage error.',
    '',
    'Examples:',
    '  weir start --config /etc/weir/weir.yaml',
    '  weir topics create --topic sensors --partitions 3 --config retention.ms=86400000',
    '  weir topics describe --topic sensors',
    '  seq 1 10 | weir produce --bootstrap-server 127.0.0.1:9092 --topic numbers',
    '  weir consume --bootstrap-server 127.0.0.1:9092 --topic numbers --from-beginning --max-messages 10',
    '',
    "Run 'weir help <command>' (or 'weir <command> --help') for a command's flags.",
    '',
  ].join('\n');
}

function groupHelp(group: string): string {
  const info = GROUPS.find((g) => g.name === group)!;
  const commands = COMMANDS.filter((c) => c.path[0] === group);
  return [
    `Usage: weir ${group} <${commands.map((c) => c.path[1]).join('|')}> [options]`,
    '',
    ...info.description.flatMap((p) => indentWrap(p, 0)),
    '',
    'Commands:',
    ...columns(commands.map((c) => [c.path[1]!, c.summary] as const)),
    '',
    `Options of every ${group} command:`,
    ...columns(sharedOptions(commands).map((o) => [`--${o.name} ${o.placeholder ?? ''}`.trim(), `${o.doc}${o.defaultDoc === undefined ? '' : ` Default: ${o.defaultDoc}.`}`] as const)),
    '',
    'Examples:',
    ...commands.map((c) => `  ${c.examples[0]}`),
    '',
    `Run 'weir ${group} <command> --help' for each command's flags.`,
    '',
  ].join('\n');
}

/** The options every command of a group takes (the topics commands share --data-dir, --bootstrap-server…). */
function sharedOptions(commands: readonly CommandSpec[]): readonly OptionSpec[] {
  return (commands[0]?.options ?? []).filter((o) => commands.every((c) => c.options.some((x) => x.name === o.name)) && (o.required !== true || o.name === 'bootstrap-server'));
}

function usage(message: string, command: string): WeirError {
  return new WeirError('USAGE', message, { details: { command } });
}

/**
 * Older command names kept so that scripts and notes written for them still work: each is a
 * command group of its own name followed by flags. `weir kafka-users add …` runs
 * `weir users add --kafka …`.
 */
const ALIASES: Readonly<Record<string, { group: string; flags: readonly string[] }>> = {
  'kafka-users': { group: 'users', flags: ['--kafka'] },
};

function expandAlias(words: string[]): string[] {
  const [first = '', second] = words;
  const alias = ALIASES[first];
  if (alias === undefined) return words;
  if (second === undefined || second.startsWith('-')) return [alias.group, ...words.slice(1)];
  return [alias.group, second, ...alias.flags, ...words.slice(2)];
}

type Resolved = { kind: 'command'; spec: CommandSpec; rest: string[] } | { kind: 'group'; group: string; rest: string[] };

function resolve(given: string[]): Resolved {
  const words = expandAlias(given);
  const [first = '', second] = words;
  const group = GROUPS.find((g) => g.name === first);
  if (group !== undefined) {
    if (second === undefined || second.startsWith('-')) return { kind: 'group', group: first, rest: words.slice(1) };
    const spec = COMMANDS.find((c) => c.path[0] === first && c.path[1] === second);
    if (spec === undefined) {
      const actions = COMMANDS.filter((c) => c.path[0] === first).map((c) => c.path[1]!);
      const near = suggest(second, actions);
      throw usage(`unknown command 'weir ${first} ${second}'${near === undefined ? '' : ` (did you mean 'weir ${first} ${near}'?)`}`, `weir ${first}`);
    }
    return { kind: 'command', spec, rest: words.slice(2) };
  }
  const spec = COMMANDS.find((c) => c.path.length === 1 && c.path[0] === first);
  if (spec === undefined) {
    const near = suggest(first, [...COMMANDS.map((c) => c.path[0]!), 'help']);
    throw usage(`unknown command '${first}'${near === undefined ? '' : ` (did you mean '${near}'?)`}`, 'weir');
  }
  return { kind: 'command', spec, rest: words.slice(1) };
}

function hintFor(err: WeirError, command: string): string {
  switch (err.code) {
    case 'USAGE':
      return `Run '${command} --help' for usage.`;
    case 'CONFIG_INVALID':
      return 'Fix each field listed above (in the config file, or in the WEIR_* variable named), then run again; weir.example.yaml documents every field.';
    case 'CONFIG_UNREADABLE':
      return 'Check that the file given to --config (or --config-file) exists and is readable, and that its YAML is valid where shown.';
    case 'STORE_LOCKED':
      return 'A running Weir owns this data directory: pass --bootstrap-server HOST:PORT (its kafka.listen) to work through it, or stop it first (systemctl stop weir) and run this command again.';
    case 'TOPIC_ALREADY_EXISTS':
      return "See it with 'weir topics describe --topic <name>', change it with 'weir topics alter', or pass --if-not-exists.";
    case 'UNKNOWN_TOPIC_OR_PARTITION':
      return "'weir topics list' shows the topics in this data directory.";
    case 'INVALID_PARTITIONS':
      return "Partitions can only grow; 'weir topics describe --topic <name>' shows the current count.";
    case 'STORAGE_ERROR':
    case 'STORE_CLOSED':
      return 'Check the disk and the permissions of the data directory; rerun with WEIR_LOG__LEVEL=debug for details.';
    default:
      return `Run '${command} --help' for usage, or rerun with WEIR_LOG__LEVEL=debug for details.`;
  }
}

export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const fail = (message: string, hint: string, code: number): number => {
    ctx.stderr.write(`weir: ${message}\n${hint}\n`);
    return code;
  };
  try {
    const [first] = argv;
    if (first === undefined) {
      ctx.stderr.write(topHelp());
      return fail('no command given', "Run 'weir --help' for the commands.", EXIT_USAGE);
    }
    if (first === '-h' || first === '--help') return (ctx.stdout.write(topHelp()), EXIT_OK);
    if (first === '-V' || first === '--version') return (ctx.stdout.write(`weir ${weirVersion()}\n`), EXIT_OK);
    if (first === 'help') {
      if (argv.length === 1) return (ctx.stdout.write(topHelp()), EXIT_OK);
      const target = resolve(argv.slice(1));
      ctx.stdout.write(target.kind === 'group' ? groupHelp(target.group) : renderCommandHelp(target.spec));
      return EXIT_OK;
    }
    const target = resolve(argv);
    if (target.kind === 'group') {
      if (target.rest.includes('-h') || target.rest.includes('--help')) return (ctx.stdout.write(groupHelp(target.group)), EXIT_OK);
      return fail(`'weir ${target.group}' needs a command`, `Run 'weir ${target.group} --help' for the commands.`, EXIT_USAGE);
    }
    const values = parseCommandArgs(target.spec, target.rest);
    if (values === undefined) return (ctx.stdout.write(renderCommandHelp(target.spec)), EXIT_OK);
    return await target.spec.run(values, ctx);
  } catch (err) {
    if (isWeirError(err)) {
      const command = typeof err.details?.command === 'string' ? err.details.command : commandOf(argv);
      const hint = typeof err.details?.hint === 'string' ? err.details.hint : hintFor(err, command);
      return fail(err.message, hint, err.code === 'USAGE' ? EXIT_USAGE : EXIT_RUNTIME);
    }
    const sys = err as NodeJS.ErrnoException;
    if (err instanceof Error && typeof sys.code === 'string' && typeof sys.path === 'string') {
      // A file-system refusal (EACCES, ENOSPC, EROFS…): the operator's to fix, not a bug.
      return fail(err.message, `Check that ${sys.path} exists, is on a writable filesystem with free space, and that this user may write to it.`, EXIT_RUNTIME);
    }
    // Not a WeirError: a bug or an environment failure nobody anticipated. Keep the stack.
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    return fail(detail, 'This is unexpected: please report it with the output above (rerun with WEIR_LOG__LEVEL=debug for more).', EXIT_RUNTIME);
  }
}

function commandOf(argv: string[]): string {
  try {
    const r = resolve(argv);
    return r.kind === 'command' ? commandName(r.spec) : `weir ${r.group}`;
  } catch {
    return 'weir';
  }
}
