/**
 * Turns a listener's failure to bind (`listen EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`) into a
 * WeirError that names the setting, its environment variable and what to do, instead of a
 * Node stack trace: a port already taken is the operator's to fix, not a bug.
 */
import type { WeirConfig } from './config/schema.js';
import { envNameFor } from './config/schema.js';
import type { HostPort } from './config/types.js';
import { WeirError } from './errors.js';

/** The command that shows which program holds a TCP port (also `weir doctor`'s fix). */
export function portHolderCommand(port: number): string {
  return `ss -ltnp 'sport = :${port}'`;
}

/** Every `listen` and `*_listen` field that is set: `admin.listen`, `mqtt.tls_listen`… */
export function listenFields(config: WeirConfig): { section: string; key: string; address: HostPort }[] {
  const out: { section: string; key: string; address: HostPort }[] = [];
  for (const [section, fields] of Object.entries(config as unknown as Record<string, Record<string, unknown>>)) {
    if (typeof fields !== 'object' || fields === null) continue;
    for (const [key, value] of Object.entries(fields)) {
      if (key !== 'listen' && !key.endsWith('_listen')) continue;
      if (typeof value === 'object' && value !== null && 'host' in value && 'port' in value) out.push({ section, key, address: value as HostPort });
    }
  }
  return out;
}

const BIND_CODES = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL']);

/** The WeirError for a failed bind of one of the configured listeners, else undefined. */
export function listenError(err: unknown, config: WeirConfig): WeirError | undefined {
  const sys = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (!(err instanceof Error) || sys.syscall !== 'listen' || typeof sys.code !== 'string' || !BIND_CODES.has(sys.code)) return undefined;
  const candidates = listenFields(config).filter((f) => f.address.port === sys.port);
  const field = candidates.find((f) => f.address.host === sys.address) ?? candidates[0];
  if (field === undefined) return undefined;
  const name = `${field.section}.${field.key}`;
  const env = envNameFor(field.section, field.key);
  const where = `${field.address.host}:${field.address.port}`;
  const details = { field: name, env, host: field.address.host, port: field.address.port, errno: sys.code };
  const change = `change ${name} in the config file, or set ${env}=HOST:PORT`;
  switch (sys.code) {
    case 'EADDRINUSE':
      return new WeirError('LISTEN_FAILED', `${name} ${where}: the address is already in use by another program (${env})`, {
        cause: err,
        details: { ...details, hint: `Find the program with: ${portHolderCommand(field.address.port)}; stop it, or ${change}.` },
      });
    case 'EACCES':
      return new WeirError('LISTEN_FAILED', `${name} ${where}: binding this port needs privileges (${env})`, {
        cause: err,
        details: { ...details, hint: `Use a port above 1023: ${change}.` },
      });
    default:
      return new WeirError('LISTEN_FAILED', `${name} ${where}: ${field.address.host} is not an address of this machine (${env})`, {
        cause: err,
        details: { ...details, hint: `Use an address of this machine (ip -br addr) or 127.0.0.1: ${change}.` },
      });
  }
}
