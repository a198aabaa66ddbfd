/**
 * What every `weir` command that speaks the Kafka protocol shares: the `--bootstrap-server` and
 * `--command-config` flags, a kafkajs client built from them, Weir's own codecs registered with
 * kafkajs (it ships only gzip), and kafkajs errors turned into WeirErrors that say what to do.
 *
 * kafkajs is pure JavaScript (nothing to compile on a Pi). `--command-config` takes a properties
 * file with librdkafka's names (what kcat -F reads), so one file serves both tools:
 *
 *   security.protocol=SASL_SSL          # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
 *   sasl.mechanism=SCRAM-SHA-256        # PLAIN | SCRAM-SHA-256 (also sasl.mechanisms)
 *   sasl.username=app
 *   sasl.password=…
 *   ssl.ca.location=/etc/weir/ca.pem
 *   ssl.certificate.location=…          # client certificate, when the listener asks for one
 *   ssl.key.location=…
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Admin, Kafka, KafkaConfig, SASLOptions } from 'kafkajs';
import { WeirError } from '../errors.js';
import { stringValue, type CliContext, type OptionSpec, type OptionValues } from './spec.js';

export const BOOTSTRAP_OPTION: OptionSpec = {
  name: 'bootstrap-server',
  type: 'string',
  placeholder: 'HOST:PORT',
  doc: 'Kafka listener of a running Weir (kafka.listen), e.g. 127.0.0.1:9092. Several may be given comma-separated.',
  required: true,
};

export const COMMAND_CONFIG_OPTION: OptionSpec = {
  name: 'command-config',
  type: 'string',
  placeholder: 'FILE',
  doc: 'Properties file with librdkafka names for a listener with SASL or TLS: security.protocol, sasl.mechanism, sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location.',
};

/** --bootstrap-server plus --command-config, for commands that always use the protocol. */
export const CLIENT_OPTIONS: readonly OptionSpec[] = [BOOTSTRAP_OPTION, COMMAND_CONFIG_OPTION];

/** Parses a Java/librdkafka properties file: `key=value` lines, `#` and `!` comments. */
export function parseProperties(text: string, file: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) return;
    const eq = line.search(/[=:]/);
    if (eq <= 0) throw new WeirError('USAGE', `${file}:${i + 1}: expected key=value`, { details: { file, line: i + 1 } });
    out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  });
  return out;
}

const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
const MECHANISMS = { PLAIN: 'plain', 'SCRAM-SHA-256': 'scram-sha-256', 'SCRAM-SHA-512': 'scram-sha-512' } as const;

/** The kafkajs `ssl` and `sasl` settings a --command-config file asks for. */
export function securityFromProperties(props: Map<string, string>, file: string, cwd: string): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const protocol = (props.get('security.protocol') ?? 'PLAINTEXT').toUpperCase();
  if (!(SECURITY_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new WeirError('USAGE', `${file}: security.protocol=${protocol} is not one of ${SECURITY_PROTOCOLS.join(', ')}`);
  }
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  const read = (key: string): Buffer | undefined => {
    const p = props.get(key);
    if (p === undefined || p === '') return undefined;
    try {
      return readFileSync(path.resolve(cwd, p));
    } catch (err) {
      throw new WeirError('USAGE', `${file}: ${key}=${p} cannot be read: ${(err as Error).message}`, { cause: err });
    }
  };
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const ca = read('ssl.ca.location');
    const cert = read('ssl.certificate.location');
    const key = read('ssl.key.location');
    out.ssl = { ...(ca === undefined ? {} : { ca: [ca] }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
  }
  if (protocol.startsWith('SASL_')) {
    const name = (props.get('sasl.mechanism') ?? props.get('sasl.mechanisms') ?? 'PLAIN').toUpperCase();
    const mechanism = MECHANISMS[name as keyof typeof MECHANISMS];
    if (mechanism === undefined) throw new WeirError('USAGE', `${file}: sasl.mechanism=${name} is not one of ${Object.keys(MECHANISMS).join(', ')}`);
    const username = props.get('sasl.username');
    const password = props.get('sasl.password');
    if (username === undefined || password === undefined) throw new WeirError('USAGE', `${file}: ${protocol} needs sasl.username and sasl.password`);
    out.sasl = { mechanism, username, password } as SASLOptions;
  }
  return out;
}

export function bootstrapBrokers(values: OptionValues): string[] {
  const raw = stringValue(values, 'bootstrap-server') ?? '';
  const brokers = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const b of brokers) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(b)) {
      throw new WeirError('USAGE', `--bootstrap-server ${b} is invalid: expected HOST:PORT, e.g. 127.0.0.1:9092`);
    }
  }
  if (brokers.length === 0) throw new WeirError('USAGE', 'missing --bootstrap-server HOST:PORT');
  return brokers;
}

export type KafkaJs = typeof import('kafkajs');

/**
 * kafkajs, loaded on first use (so `weir --help` does not load it). It is CommonJS: Node's ESM
 * loader finds only some of its named exports (not CompressionCodecs or ConfigResourceTypes),
 * so everything is read from the module object itself.
 */
export async function loadKafkajs(): Promise<KafkaJs> {
  const mod = (await import('kafkajs')) as KafkaJs & { default?: KafkaJs };
  return mod.default ?? mod;
}

let codecsRegistered = false;

/**
 * kafkajs ships gzip only and takes other codecs as plugins; Weir's own pure-JS codecs fill in,
 * so a consumer reads what any producer wrote. zstd is decode-only (Node 20 has no zstd encoder).
 */
async function registerCodecs(): Promise<void> {
  if (codecsRegistered) return;
  const { CompressionCodecs, CompressionTypes } = await loadKafkajs();
  const { compress, decompress, CompressionType } = await import('../kafka/protocol/compression.js');
  const codec = (type: (typeof CompressionType)[keyof typeof CompressionType]) => () => ({
    compress: async (encoder: { buffer: Buffer }) => compress(type, encoder.buffer),
    decompress: async (buffer: Buffer) => decompress(type, buffer),
  });
  CompressionCodecs[CompressionTypes.Snappy] = codec(CompressionType.Snappy);
  CompressionCodecs[CompressionTypes.LZ4] = codec(CompressionType.Lz4);
  CompressionCodecs[CompressionTypes.ZSTD] = codec(CompressionType.Zstd);
  codecsRegistered = true;
}

/** A kafkajs client for --bootstrap-server (and --command-config), with kafkajs' own logging off. */
export async function kafkaClient(values: OptionValues, ctx: CliContext, clientId: string): Promise<Kafka> {
  const brokers = bootstrapBrokers(values);
  const file = stringValue(values, 'command-config');
  const security = file === undefined ? {} : securityFromProperties(parseProperties(readText(path.resolve(ctx.cwd, file)), file), file, ctx.cwd);
  const { Kafka, logLevel } = await loadKafkajs();
  await registerCodecs();
  return new Kafka({
    clientId,
    brokers,
    ...security,
    // Errors reach the command, which reports them once; kafkajs' own JSON log lines would repeat them.
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new WeirError('USAGE', `--command-config ${file} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

/** kafkajs error class names and what the operator can do about each. */
function hintForKafkaError(name: string, type: string | undefined, brokers: string): string {
  if (name === 'KafkaJSSASLAuthenticationError' || type === 'SASL_AUTHENTICATION_FAILED') {
    return 'Check sasl.username and sasl.password in --command-config against `weir users list --kafka` on the gateway.';
  }
  if (type === 'UNSUPPORTED_SASL_MECHANISM') return 'Set sasl.mechanism in --command-config to one of kafka.sasl_mechanisms.';
  // Before the connection hint: kafkajs retries this one and reports it as retries exhausted.
  if (type === 'UNKNOWN_TOPIC_OR_PARTITION') return `The topic does not exist: 'weir topics list --bootstrap-server ${brokers}' shows the topics, 'weir topics create --bootstrap-server ${brokers} --topic NAME' creates one.`;
  if (name === 'KafkaJSConnectionError' || name === 'KafkaJSNumberOfRetriesExceeded' || name === 'KafkaJSNonRetriableError' || name === 'KafkaJSConnectionClosedError') {
    return `Check that Weir is running and its Kafka listener (kafka.listen) is at ${brokers}; a listener with SASL or TLS needs --command-config.`;
  }
  return 'Rerun with the same flags after fixing the cause above; the broker log (journalctl -u weir) has details.';
}

/**
 * Runs `fn` and turns a kafkajs failure into a WeirError (KAFKA_CLIENT_ERROR) whose message
 * names the broker error and whose hint says what to do. WeirErrors pass through unchanged.
 */
export async function withKafkaErrors<T>(values: OptionValues, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw kafkaError(err, values, what);
  }
}

/**
 * Runs `fn` with a connected kafkajs admin client for the commands that work through a running
 * Weir (`topics … --bootstrap-server`, `groups`), failures turned as `withKafkaErrors` does, and
 * disconnects whatever happened. `clientId` tells the broker's logs which command it was.
 */
export async function withAdmin<T>(values: OptionValues, ctx: CliContext, clientId: string, what: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const kafka = await kafkaClient(values, ctx, clientId);
  const admin = kafka.admin();
  try {
    return await withKafkaErrors(values, what, async () => {
      await admin.connect();
      return fn(admin);
    });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The Kafka error type under a kafkajs wrapper (KafkaJSNumberOfRetriesExceeded keeps it in `cause`). */
function protocolErrorType(err: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof err !== 'object' || err === null) return undefined;
  const e = err as { type?: unknown; cause?: unknown; originalError?: unknown };
  return typeof e.type === 'string' ? e.type : protocolErrorType(e.cause ?? e.originalError, depth + 1);
}

export function kafkaError(err: unknown, values: OptionValues, what: string): Error {
  if (err instanceof WeirError) return err;
  const e = err as Error & { type?: string; originalError?: Error; retryCount?: number; errors?: unknown[] };
  const inner = e.originalError ?? (Array.isArray(e.errors) && e.errors[0] instanceof Error ? (e.errors[0] as Error & { type?: string }) : undefined);
  const type = e.type ?? (inner as { type?: string } | undefined)?.type ?? protocolErrorType(e.cause);
  const name = inner?.name ?? e.name;
  const message = [e.message, inner !== undefined && inner.message !== e.message ? inner.message : ''].filter((m) => m !== '').join(': ');
  return new WeirError('KAFKA_CLIENT_ERROR', `${what} failed: ${message}${type === undefined ? '' : ` (${type})`}`, {
    cause: err,
    details: { kafkaError: type, hint: hintForKafkaError(name, type, stringValue(values, 'bootstrap-server') ?? '') },
  });
}
