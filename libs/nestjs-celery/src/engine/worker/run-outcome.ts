/**
 * What the end of one handler run means in Celery's terms (celery/app/trace.py `build_tracer`:
 * Reject, Ignore, Retry, any other exception; celery/worker/request.py `on_timeout`).
 */
import { formatTraceback, serializeException, type ExceptionInfo } from '../../protocol/exceptions.js';
import { JsonEncodeError } from '../../protocol/json.js';
import { TimeLimitExceeded } from '../../protocol/python-errors.js';
import { States, type TaskState } from '../../protocol/states.js';
import { Ignore, Reject, Retry } from '../../protocol/task-predicates.js';
import type { RunEnd } from './ack-policy.js';
import type { LimitedOutcome } from './time-limits.js';

export type RunOutcome =
  /** a state to store (SUCCESS's result is the returned value, the others an exception dict) */
  | { kind: 'state'; state: TaskState; result: unknown; traceback: string | null; end: RunEnd; error?: unknown }
  /** Reject raised: settle the message as asked, store nothing */
  | { kind: 'reject'; requeue: boolean; error: Reject }
  /** Ignore raised: ack, store nothing */
  | { kind: 'ignore' };

export function runOutcome(limited: LimitedOutcome): RunOutcome {
  if (limited.kind === 'returned') {
    return { kind: 'state', state: States.SUCCESS, result: limited.value === undefined ? null : limited.value, traceback: null, end: 'success' };
  }
  if (limited.kind === 'timeout') {
    // billiard stores TimeLimitExceeded(<seconds>) with no traceback (request.py on_timeout)
    return { kind: 'state', state: States.FAILURE, result: serializeException(new TimeLimitExceeded(limited.seconds)), traceback: null, end: 'timeout' };
  }
  return failureOutcome(limited.error);
}

/** An error raised by the handler (or by the work done right after it, e.g. canvas steps). */
export function failureOutcome(error: unknown): RunOutcome {
  if (error instanceof Reject) return { kind: 'reject', requeue: error.requeue, error };
  if (error instanceof Ignore) return { kind: 'ignore' };
  if (error instanceof JsonEncodeError) {
    // Celery (app/trace.py): a result or callback argument the serializer cannot write is
    // FAILURE kombu.exceptions.EncodeError(<the json error's repr>), never a backend outage
    const result: ExceptionInfo = { exc_type: 'EncodeError', exc_message: [error.pyRepr], exc_module: 'kombu.exceptions' };
    return { kind: 'state', state: States.FAILURE, result, traceback: formatTraceback(error), end: 'failure', error };
  }
  if (error instanceof Retry) {
    // mark_as_retry stores the cause (or None) with the traceback of the Retry itself
    const exc = error.exc === null || error.exc === undefined ? null : serializeException(error.exc);
    return { kind: 'state', state: States.RETRY, result: exc, traceback: formatTraceback(error), end: 'retry', error };
  }
  return { kind: 'state', state: States.FAILURE, result: serializeException(error), traceback: formatTraceback(error), end: 'failure', error };
}
