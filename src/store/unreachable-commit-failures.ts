/**
 * When an LMDB commit fails (ENOSPC, EIO), lmdb-js rejects internal promises that no caller can
 * reach (one per failed transaction, besides the write promises it returns, which the store
 * awaits and reports). Node would crash the process on them. A library does not own the process's
 * handlers, so the store only knows which rejections those are; every process that opens a store
 * installs the handler once at its entry (`weir`: src/cli/weir.ts). This file does not import
 * lmdb, so an entry can install it before anything else loads.
 */

let installed = false;

/**
 * Installs an `unhandledRejection` listener that swallows exactly those rejections (an Error
 * carrying lmdb-js's `commitError`) and rethrows anything else, which keeps Node's default
 * crash-on-unhandled-rejection behaviour for every other promise. Idempotent.
 */
export function ignoreUnreachableCommitFailures(): void {
  if (installed) return;
  installed = true;
  process.on('unhandledRejection', (reason) => {
    if (reason instanceof Error && 'commitError' in reason) {
      (reason as { commitError?: Promise<unknown> }).commitError?.catch(() => undefined);
      return;
    }
    throw reason;
  });
}
