/**
 * Celery's task predicates (celery/exceptions.py `Retry`, `Reject`, `Ignore`): exceptions a task
 * raises to tell the worker what to do with its message rather than to report a failure.
 * They carry Celery's names so that tracebacks and logs read the same as Python's.
 */
import { pyRepr } from './repr.js';
import { PythonError } from './python-errors.js';

/**
 * The task was re-sent for a later attempt (thrown by `ctx.retry()` after the new message is
 * published). The worker stores RETRY with `exc` (or null) and acks the original message.
 */
export class Retry extends PythonError {
  static override readonly excType: string = 'Retry';
  static override readonly excModule: string | null = 'celery.exceptions';

  constructor(
    /** the error that caused the retry, if any: what RETRY stores */
    readonly exc: unknown = null,
    /** seconds from now, or the absolute time of the next attempt */
    readonly when: number | Date | null = null,
  ) {
    // Celery's Retry.__str__: `Retry in 5s: ValueError('boom')` / `Retry at <eta>`
    const humanized = when instanceof Date ? `at ${when.toISOString()}` : `in ${when ?? 0}s`;
    super(exc ? `Retry ${humanized}: ${describe(exc)}` : `Retry ${humanized}`);
  }
}

/** Reject the message (requeue or not) without storing a state (Celery's `Reject`). */
export class Reject extends PythonError {
  static override readonly excType: string = 'Reject';
  static override readonly excModule: string | null = 'celery.exceptions';

  constructor(
    readonly reason: unknown = null,
    readonly requeue = false,
  ) {
    super(reason === null ? 'rejected' : describe(reason));
  }
}

/** Ack the message and store nothing (Celery's `Ignore`). */
export class Ignore extends PythonError {
  static override readonly excType: string = 'Ignore';
  static override readonly excModule: string | null = 'celery.exceptions';
}

/** `ValueError('boom')`, as Celery's safe_repr shows the cause of a retry. */
function describe(exc: unknown): string {
  if (exc instanceof PythonError) return `${exc.excType}(${exc.args.map((a) => pyRepr(a)).join(', ')})`;
  if (exc instanceof Error) return `${exc.name}(${pyRepr(exc.message)})`;
  return pyRepr(exc);
}
