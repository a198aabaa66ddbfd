/** Assertions on the errors Weir throws. */
import { expect } from 'vitest';
import { isWeirError, type ErrorCode, type WeirError } from '../../src/errors.js';

/** `fn` throws a WeirError with `code`; any other throw is rethrown as it is, so its stack shows. */
export function expectWeir(code: ErrorCode, fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected WeirError ${code}`).toBeDefined();
  if (!isWeirError(thrown, code)) throw thrown;
}

/** The WeirError `promise` rejects with, to look at its code, message and details. */
export async function rejectionOf(promise: Promise<unknown>): Promise<WeirError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!isWeirError(err)) throw new Error(`expected a WeirError, got ${String(err)}`);
  return err;
}
