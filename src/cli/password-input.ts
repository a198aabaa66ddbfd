/**
 * Reads a password for `weir users add` (MQTT or `--kafka`). Never a flag (it would show
 * in `ps` and shell history): from stdin, without echo when stdin is a terminal (asked twice),
 * or as the first line of piped input.
 */
import { WeirError } from '../errors.js';
import type { CliContext } from './spec.js';

/** Reads one line from stdin: echo off on a terminal (asked twice), else the first piped line. */
export async function readPassword(ctx: CliContext): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY !== true) {
    let text = '';
    for await (const chunk of stdin) text += String(chunk);
    return text.split(/\r?\n/)[0] ?? '';
  }
  const ask = (prompt: string): Promise<string> => new Promise((resolve, reject) => {
    ctx.stderr.write(prompt);
    let line = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const onData = (s: string): void => {
      for (const ch of s) {
        if (ch === '\r' || ch === '\n') {
          stdin.off('data', onData);
          stdin.setRawMode(false);
          stdin.pause();
          ctx.stderr.write('\n');
          resolve(line);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          reject(new WeirError('USAGE', 'cancelled'));
          return;
        }
        line = ch === '\u007f' ? line.slice(0, -1) : line + ch;
      }
    };
    stdin.on('data', onData);
  });
  const first = await ask('Password: ');
  const again = await ask('Password again: ');
  if (first !== again) throw new WeirError('USAGE', 'the passwords do not match');
  return first;
}

