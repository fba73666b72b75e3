/**
 * Soft and hard time limits (celery/worker/request.py `execute_using_pool`, `on_timeout`;
 * billiard's pool timers). Node cannot kill a running Promise, so:
 * - soft: the task's AbortSignal is aborted with SoftTimeLimitExceeded — a handler that passes
 *   the signal on (fetch, timers/promises, `signal.throwIfAborted()`) fails with it, one that
 *   ignores it keeps running until the hard limit;
 * - hard: the worker stops waiting, stores FAILURE TimeLimitExceeded and frees the slot; the
 *   signal is aborted too, and whatever the handler still produces is discarded.
 */
import { isObservable, lastValueFrom } from 'rxjs';
import { SoftTimeLimitExceeded, TimeLimitExceeded } from '../../protocol/python-errors.js';
import type { TimeLimit } from '../../protocol/task-message.js';
import type { TaskAbort } from './task-abort.js';

/** Seconds; null = no limit. */
export interface TimeLimits {
  hard: number | null;
  soft: number | null;
}

/** No limit from the header, the task or the worker: the common case, without allocating. */
const NO_LIMITS: TimeLimits = Object.freeze({ hard: null, soft: null });

/** Limits a task's options or the worker's may set. */
export interface DefaultTimeLimits {
  timeLimit?: number;
  softTimeLimit?: number;
}

const NO_DEFAULTS: DefaultTimeLimits = Object.freeze({});

/**
 * Celery: `time_limit or task.time_limit` — the message's header wins, then the task's, then the
 * worker's; 0/null fall through. Two named defaults (not a rest array and closures): it runs for every task.
 */
export function effectiveTimeLimits(header: TimeLimit, task: DefaultTimeLimits = NO_DEFAULTS, worker: DefaultTimeLimits = NO_DEFAULTS): TimeLimits {
  const hard = header[0] || task.timeLimit || worker.timeLimit || null;
  const soft = header[1] || task.softTimeLimit || worker.softTimeLimit || null;
  return hard === null && soft === null ? NO_LIMITS : { hard, soft };
}

export type LimitedOutcome =
  { kind: 'returned'; value: unknown } | { kind: 'raised'; error: unknown } | { kind: 'timeout'; seconds: number; late: Promise<unknown> };

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as PromiseLike<unknown> | null)?.then === 'function';

/** A handler's return value, awaited: Promises, Observables (last value, null when empty), plain values. */
export async function settleHandlerValue(value: unknown): Promise<unknown> {
  if (isThenable(value)) return value;
  if (isObservable(value)) return lastValueFrom(value, { defaultValue: null });
  return value;
}

/**
 * Run a handler with no time limits: a plain (synchronous) value or throw is the outcome at
 * once, without a promise; a Promise or Observable is settled first.
 */
export function runHandler<X, Y, Z>(handler: (x: X, y: Y, z: Z) => unknown, x: X, y: Y, z: Z): LimitedOutcome | Promise<LimitedOutcome> {
  let value: unknown;
  try {
    // the handler's three arguments by name: no rest array and spread call per task
    value = handler(x, y, z);
  } catch (error) {
    return { kind: 'raised', error };
  }
  if (!isThenable(value) && !isObservable(value)) return { kind: 'returned', value };
  return settleHandlerValue(value).then(
    (settled): LimitedOutcome => ({ kind: 'returned', value: settled }),
    (error: unknown): LimitedOutcome => ({ kind: 'raised', error }),
  );
}

/**
 * Run `run` under the limits. Resolves with what it returned or raised, or with `timeout` at
 * the hard limit (`late` settles when the abandoned run finally does).
 */
export function runWithTimeLimits(run: () => Promise<unknown>, limits: TimeLimits, controller: TaskAbort): Promise<LimitedOutcome> {
  const timers: NodeJS.Timeout[] = [];
  const running = run();
  return new Promise<LimitedOutcome>((resolve) => {
    let done = false;
    const finish = (outcome: LimitedOutcome) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      resolve(outcome);
    };
    running.then(
      (value) => finish({ kind: 'returned', value }),
      (error: unknown) => finish({ kind: 'raised', error }),
    );
    if (limits.soft) {
      timers.push(setTimeout(() => !controller.aborted && controller.abort(new SoftTimeLimitExceeded()), limits.soft * 1000));
    }
    if (limits.hard) {
      const seconds = limits.hard;
      timers.push(
        setTimeout(() => {
          if (!controller.aborted) controller.abort(new TimeLimitExceeded(seconds));
          finish({ kind: 'timeout', seconds, late: running.catch((e: unknown) => e) });
        }, seconds * 1000),
      );
    }
  });
}
