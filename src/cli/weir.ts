#!/usr/bin/env node
/**
 * The `weir` executable. The only code in Weir that ends the process: commands return an exit
 * status, and `start` may ask for an immediate exit on a second SIGINT/SIGTERM.
 */
import './v8-flags.js';
import './embedded-aedes.js';
import { runCli } from './run.js';

const exit = (code: number): never => process.exit(code);

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  exit,
});
exit(code);
