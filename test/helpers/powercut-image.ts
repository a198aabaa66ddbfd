/**
 * The power-cut shim (test/powercut/shim.c) from the test's side: compile it, and turn the shadow
 * it kept into the data directory a machine would find after a power cut. The shim keeps, per
 * file, its content as of its last fsync, and the directory's entries as of the directory's last
 * fsync (`manifest`); the recovered directory is exactly those entries with that content.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHIM_SOURCE = fileURLToPath(new URL('../powercut/shim.c', import.meta.url));

/** Compiles the shim into `outDir`. No gcc is a failure, never a skip: the test proves nothing without it. */
export function buildShim(outDir: string): string {
  const out = join(outDir, 'shim.so');
  const gcc = spawnSync('gcc', ['-shared', '-fPIC', '-O2', '-o', out, SHIM_SOURCE, '-ldl', '-lpthread'], { encoding: 'utf8' });
  if (gcc.error !== undefined) {
    throw new Error(`the power-cut test compiles its LD_PRELOAD shim with gcc, which is missing here (${gcc.error.message}): apt-get install -y build-essential (.ci/run does this)`);
  }
  if (gcc.status !== 0) throw new Error(`gcc could not compile ${SHIM_SOURCE}:\n${gcc.stderr}`);
  return out;
}

/**
 * Builds the post-power-cut data directory `outDir` from `shadowDir`. Fails when the shim saw
 * something it does not model (a subdirectory, msync of a watched file, sync()): an image that
 * may be wrong must not pass as one that is right.
 */
export function recoverImage(shadowDir: string, outDir: string): string[] {
  const unmodelled = join(shadowDir, 'unmodelled.log');
  if (existsSync(unmodelled)) throw new Error(`the power-cut shim saw calls it does not model:\n${readFileSync(unmodelled, 'utf8')}`);
  const manifest = join(shadowDir, 'manifest');
  if (!existsSync(manifest)) throw new Error(`${manifest} is missing: was the shim loaded (LD_PRELOAD) and configured?`);
  mkdirSync(outDir, { recursive: true });
  const names: string[] = [];
  for (const line of readFileSync(manifest, 'utf8').split('\n')) {
    if (line === '') continue;
    const [name, shadowFile] = line.split('\t') as [string, string];
    if (shadowFile === '-') throw new Error(`the data directory holds ${name}, which is not a regular file: the power-cut shim does not model it`);
    copyFileSync(join(shadowDir, shadowFile), join(outDir, name));
    names.push(name);
  }
  return names;
}
