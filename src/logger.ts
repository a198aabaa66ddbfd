/**
 * The pino root logger. Weir creates exactly one (in the CLI entry) and injects it; each
 * component takes `logger.child({ component: 'store' })` and logs structured fields. Lines are
 * JSON — what journald and log shippers want — and human-readable only when asked for or when
 * `log.pretty: auto` finds a terminal.
 */
import pino from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** The config's `log.level` values are pino's own level names. */
  level: pino.LevelWithSilent;
  /** `auto`: pretty only when the destination is a terminal. */
  pretty: boolean | 'auto';
  /** 1 (stdout, the default) or 2 (stderr: CLI commands whose stdout is their output), or a stream (tests). */
  destination?: 1 | 2 | pino.DestinationStream;
}

/**
 * Keys whose values never reach a log line, at any of the first four levels of nesting (pino's
 * redaction has no recursive wildcard). Dotted Kafka/librdkafka property names are bracketed.
 * The config summary is also redacted field by field from the schema (`secret: true`); this
 * list is the backstop for objects logged by other code (client options, request headers).
 */
const SECRET_KEYS = [
  'password', 'passphrase', 'secret', 'token', 'accessToken', 'refreshToken', 'apiKey', 'api_key',
  'privateKey', 'private_key', 'authorization', 'cookie',
  'sasl.password', 'sasl.oauthbearer.token', 'tls.key', 'ssl.key', 'tls.passphrase',
  '["ssl.key.password"]', '["ssl.keystore.password"]', '["ssl.truststore.password"]', '["sasl.password"]',
  '["sasl.jaas.config"]', '["ssl.key.pem"]',
];

export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => {
  const sep = key.startsWith('[') ? '' : '.';
  return [key, `*${sep}${key}`, `*.*${sep}${key}`, `*.*.*${sep}${key}`];
});

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? 1;
  const base: pino.LoggerOptions = {
    level: options.level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    // Errors logged as `{ err }` keep their stable code and retriable flag (WeirError.toJSON).
    serializers: { err: pino.stdSerializers.err },
  };

  if (typeof destination !== 'number') return pino(base, destination);

  const isTty = (destination === 1 ? process.stdout : process.stderr).isTTY === true;
  if (options.pretty === true || (options.pretty === 'auto' && isTty)) {
    // pino-pretty runs in a worker thread (a pino transport), so formatting never blocks the
    // event loop; pino flushes it synchronously on exit.
    const transport = pino.transport({
      target: 'pino-pretty',
      options: { destination, colorize: isTty, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
    });
    return pino(base, transport);
  }
  // Synchronous writes: a line logged just before a crash is not lost in a buffer.
  return pino(base, pino.destination({ dest: destination, sync: true }));
}
