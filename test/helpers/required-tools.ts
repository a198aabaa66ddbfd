/**
 * Debian tools some tests drive (kcat, python3-kafka, the lz4 CLI). A missing tool fails the test
 * file with the command that installs it: a skipped check would count as passing. `.ci/run`
 * installs them all.
 */
import { spawnSync } from 'node:child_process';

export function requireTool(what: string, probe: [string, string[]], install: string): void {
  const [cmd, args] = probe;
  if (spawnSync(cmd, args, { stdio: 'ignore' }).status !== 0) {
    throw new Error(`this test needs ${what}, which is missing or broken here: ${install} (.ci/run does this)`);
  }
}

export const requireKcat = (): void => requireTool('kcat', ['kcat', ['-V']], 'apt-get install -y kcat');
