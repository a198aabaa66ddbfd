/**
 * Child process for the disk-full test: appends 1 KB records until the store refuses three in a
 * row, then prints one JSON line with what was acknowledged and how the refusals read, and
 * closes the store. The parent then restarts the store in its own process, as an operator would.
 *
 * Usage: node fill-until-full.js <dir>
 */
import { isWeirError } from '../../src/errors.js';
import { ignoreUnreachableCommitFailures } from '../../src/store/unreachable-commit-failures.js';
import { openTestStore } from './store.js';

// This child is a process entry, like `weir`: it installs what src/cli/weir.ts installs.
ignoreUnreachableCommitFailures();
const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: fill-until-full <dir>');
const store = await openTestStore(dir);
await store.createTopic('t');
let acked = 0;
const errors: { code: string; retriable: boolean; message: string }[] = [];
for (let i = 0; i < 100_000 && errors.length < 3; i++) {
  try {
    const { baseOffset } = await store.appendRecords('t', 0, [{ key: null, value: Buffer.alloc(1000, i % 256) }]);
    if (baseOffset !== acked) throw new Error(`offset ${baseOffset} acknowledged where ${acked} was expected`);
    acked++;
  } catch (err) {
    if (!isWeirError(err)) throw err;
    errors.push({ code: err.code, retriable: err.retriable, message: err.message });
  }
}
const readable = store.read('t', 0, 0, 1 << 30).batches.length;
process.stdout.write(`${JSON.stringify({ acked, errors, readable, storageFailure: store.stats().storageFailure })}\n`);
await store.close();
