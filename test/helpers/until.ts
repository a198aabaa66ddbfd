/**
 * Resolves once `check` holds, polling every `intervalMs`; rejects naming `what` after
 * `timeoutMs`. For conditions no event announces (a consumer's assignment, a counter).
 */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
