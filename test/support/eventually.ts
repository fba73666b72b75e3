/**
 * The one polling wait of the test suites: for state that no event tells us about (a queue's
 * depth, a key in Redis, a counter in a handler). The default deadline is generous on purpose: on
 * a loaded 2-core CI machine a wait must fail because the condition never held, not because the
 * machine was slow. Waits on events (a promise, an Observable) should await the event instead.
 */
export const EVENTUALLY_TIMEOUT_MS = 30_000;

export async function eventually(
  check: () => boolean | Promise<boolean>,
  what = 'condition',
  timeoutMs = EVENTUALLY_TIMEOUT_MS,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
