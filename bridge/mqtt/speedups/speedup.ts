/**
 * A speed-up that reaches into a dependency of aedes, and how one is applied: only when every
 * package it relies on is installed at the version it was written against (the one package.json
 * pins) and what it patches has the shape it expects. Otherwise it is skipped and the broker runs
 * on the dependency as shipped: slower, never broken.
 */
import type { InstalledLookup, PatchedPackage } from './installed.js';

export interface RequiredPackage {
  readonly name: PatchedPackage;
  /** The exact version the speed-up was written against, as pinned in package.json. */
  readonly version: string;
}

/** Why a speed-up left its package as it is. */
export interface Misfit {
  /** `shape`: what it patches is not as expected; `late`: it can only act before something already loaded. */
  readonly kind: 'shape' | 'late';
  readonly reason: string;
}

export interface Speedup {
  readonly name: string;
  /** What it patches first, then anything else whose behaviour it relies on. */
  readonly requires: readonly RequiredPackage[];
  /**
   * Checks the shape of what it patches and patches it, or returns why it did not. Called only
   * once the versions match; it changes nothing before its checks pass, and applying it again
   * (another start in the same process) leaves it applied once.
   */
  apply(installed: InstalledLookup): Misfit | undefined;
}

export interface Skipped {
  readonly package: PatchedPackage;
  readonly found: string;
  readonly expected: string;
  readonly kind: 'version' | Misfit['kind'];
  readonly reason: string;
}

export interface SpeedupOutcome {
  readonly name: string;
  /** Set when the speed-up was not applied. */
  readonly skipped?: Skipped;
}

/** Applies `speedup` if it fits what `installed` finds; whatever goes wrong is a skip. */
export function applySpeedup(speedup: Speedup, installed: InstalledLookup): SpeedupOutcome {
  const [patched] = speedup.requires;
  if (patched === undefined) throw new Error(`speed-up ${speedup.name} names no package`);
  const skip = (required: RequiredPackage, found: string, kind: Skipped['kind'], reason: string): SpeedupOutcome => ({
    name: speedup.name,
    skipped: { package: required.name, found, expected: required.version, kind, reason },
  });
  const found = new Map<PatchedPackage, string>();
  let current = patched;
  try {
    for (const required of speedup.requires) {
      current = required;
      const version = installed(required.name).version;
      found.set(required.name, version);
      if (version !== required.version) return skip(required, version, 'version', 'not the version it was written for');
    }
    current = patched;
    const misfit = speedup.apply(installed);
    return misfit === undefined ? { name: speedup.name } : skip(patched, found.get(patched.name) ?? 'unknown', misfit.kind, misfit.reason);
  } catch (err) {
    return skip(current, found.get(current.name) ?? 'not found', 'shape', `checking ${current.name} failed: ${(err as Error).message}`);
  }
}
