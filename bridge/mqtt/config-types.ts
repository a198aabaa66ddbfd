/** Config field types of the `mqtt` section that src/config/types.ts has no equivalent for. */
import path from 'node:path';
import { hostPort, type FieldType, type HostPort } from '../../src/config/types.js';

/** A file path, or "" for none (relative paths are resolved against the working directory). */
export function optionalFilePath(): FieldType<string> {
  return {
    name: 'path | ""',
    accepts: 'a file path (relative paths are resolved against the working directory), or "" for none',
    parse(raw, ctx) {
      if (raw === '' || raw === null) return { ok: true, value: '' };
      if (typeof raw !== 'string' || raw.includes('\0')) return { ok: false, why: 'expected a file path, or "" for none' };
      return { ok: true, value: path.resolve(ctx.cwd, raw) };
    },
  };
}

/** host:port, or "" for a listener that is off. */
export function optionalHostPort(): FieldType<HostPort | ''> {
  const inner = hostPort();
  return {
    name: `"" | ${inner.name}`,
    accepts: `"" (off), or ${inner.accepts}`,
    parse(raw, ctx) {
      if (raw === '' || raw === null) return { ok: true, value: '' };
      const r = inner.parse(raw, ctx);
      return r.ok ? r : { ok: false, why: `expected "" (off), or ${inner.accepts}` };
    },
  };
}
