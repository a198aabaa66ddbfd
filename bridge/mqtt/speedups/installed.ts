/**
 * The packages the MQTT speed-ups reach into, as the embedded aedes resolves them: mqtt-packet is
 * aedes's, and `bl` and `debug` are mqtt-packet's (the copies its parser loads). Nothing here
 * loads a package until asked, so a missing or moved package is a skipped speed-up, not a failed
 * import.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';

export type PatchedPackage = 'mqtt-packet' | 'bl' | 'debug';

export interface InstalledPackage {
  readonly name: PatchedPackage;
  /** `version` of its package.json. */
  readonly version: string;
  /** The file `require(name)` loads, as mqtt-packet (or aedes) resolves it. */
  readonly entry: string;
  /** `require(name)` as mqtt-packet (or aedes) would. */
  load(): unknown;
  /** Whether any of its files is in Node's CommonJS module cache (something required it already). */
  loaded(): boolean;
}

/** Looks up an installed package; tests pass their own to see a speed-up meet one that differs. */
export type InstalledLookup = (name: PatchedPackage) => InstalledPackage;

const fromWeir = createRequire(import.meta.url);

function requireFrom(name: PatchedPackage): NodeJS.Require {
  const fromAedes = createRequire(fromWeir.resolve('aedes'));
  return name === 'mqtt-packet' ? fromAedes : createRequire(fromAedes.resolve('mqtt-packet'));
}

/** The directory of the package.json named `name` nearest above `file`. */
function packageDir(file: string, name: string): string {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === name) return dir;
  }
  throw new Error(`no package.json of ${name} above ${file}`);
}

export const installedPackage: InstalledLookup = (name) => {
  const require = requireFrom(name);
  const entry = require.resolve(name);
  const dir = packageDir(entry, name);
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
  return {
    name,
    version: typeof version === 'string' ? version : 'unknown',
    entry,
    load: () => require(entry),
    loaded: () => Object.keys(require.cache).some((file) => file.startsWith(dir + sep)),
  };
};

/** Node's CommonJS cache entry of a loaded file, whose `exports` may be replaced (Node's modules documentation). */
export function cachedModule(entry: string): NodeJS.Module | undefined {
  return fromWeir.cache[entry];
}
