/**
 * Retrying work that failed on something outside us (result backend or broker unreachable):
 * exponential backoff, 100 ms doubling up to 5 s, bounded by attempts and/or a deadline.
 */
import type { CeleryLogger } from '../common/logger.js';
import { JsonEncodeError } from '../protocol/json.js';

export interface BackoffOptions {
  /** most attempts, the first included (default: unlimited, so set this or deadline) */
  attempts?: number;
  /** no attempt starts after this epoch-ms time */
  deadline?: number;
  /** errors retrying cannot help (e.g. a value that cannot be serialized) are thrown at once */
  retryable?: (error: unknown) => boolean;
  /** told about every failed attempt; `giveUp` on the last one */
  onFailure?: (error: unknown, attempt: number, giveUp: boolean) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The delay before attempt `attempt + 1`. */
export const backoffDelay = (attempt: number): number => Math.min(100 * 2 ** (attempt - 1), 5000);

/** Run `work` until it resolves; its last error is thrown when retries are exhausted. */
export async function withBackoff<T>(work: () => Promise<T>, options: BackoffOptions): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? Number.POSITIVE_INFINITY);
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (options.retryable && !options.retryable(error)) throw error;
      const delay = backoffDelay(attempt);
      const giveUp = attempt >= attempts || (options.deadline !== undefined && Date.now() + delay > options.deadline);
      options.onFailure?.(error, attempt, giveUp);
      if (giveUp) throw error;
      await sleep(delay);
    }
  }
}

/** true on attempts 1, 2, 4, 8 …: one log line per doubling while something stays down */
export const isLoggedAttempt = (attempt: number): boolean => (attempt & (attempt - 1)) === 0;

/** Default attempts of continuation work (next chain step, callbacks, chord counter and body). */
export const CONTINUATION_ATTEMPTS = 5;

/**
 * Canvas work after a task ran (publishing its next chain step or chord body, updating a chord
 * counter) with backoff: a value that cannot be serialized is thrown at once, anything else is
 * retried `attempts` times (one warning per doubling) and then thrown for the caller to surface.
 */
export function retryContinuation<T>(what: string, work: () => Promise<T>, logger: CeleryLogger, attempts = CONTINUATION_ATTEMPTS): Promise<T> {
  return withBackoff(work, {
    attempts,
    retryable: (error) => !(error instanceof JsonEncodeError),
    onFailure: (error, attempt, giveUp) => {
      if (giveUp || isLoggedAttempt(attempt))
        logger.warn(`${what} failed (attempt ${attempt} of ${attempts}): ${(error as Error)?.message ?? error}${giveUp ? '; giving up' : '; retrying'}`);
    },
  });
}
