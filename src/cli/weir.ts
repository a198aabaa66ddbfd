#!/usr/bin/env node
/**
 * The `weir` executable. The only code in Weir that ends the process: commands return an exit
 * status, and `start` may ask for an immediate exit on a second SIGINT/SIGTERM. Process-wide
 * handlers are installed here too, never by the libraries below.
 */
import './v8-flags.js';
import { processEnvironment } from '../config/environment.js';
import { ignoreUnreachableCommitFailures } from '../store/unreachable-commit-failures.js';
import { applyMqttSpeedups } from '../../bridge/mqtt/speedups/index.js';

// Before anything loads mqtt-packet (see bridge/mqtt/speedups/); `start` logs what was applied.
applyMqttSpeedups();
const { runCli } = await import('./run.js');

// A failed commit (a full disk) must not end Weir through the promises lmdb-js leaves
// unreachable: src/store/unreachable-commit-failures.ts.
ignoreUnreachableCommitFailures();

const exit = (code: number): never => process.exit(code);

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: processEnvironment(),
  cwd: process.cwd(),
  exit,
});
exit(code);
