/**
 * The fields of task events as a Celery worker sends them (celery/worker/strategy.py
 * `task-received`; celery/worker/request.py `task-started|succeeded|failed|retried|revoked|
 * rejected`). Values that Python would send as reprs are reprs here too. Pure.
 */
import { toIsoString } from '../../protocol/dates.js';
import type { ExceptionInfo } from '../../protocol/exceptions.js';
import { pythonRepr } from '../../protocol/python-repr.js';
import { pyRepr, saferepr } from '../../protocol/repr.js';
import type { TaskRequest } from '../../protocol/task-message.js';

/** Celery's `resultrepr_maxsize`: the `result` of task-succeeded is cut to this many characters. */
const RESULT_REPR_MAXSIZE = 1024;

/** The args repr a request carries (a v1 or foreign message may have none: Celery falls back to repr). */
export const argsReprOf = (request: TaskRequest): string => request.headers.argsrepr ?? pyRepr(request.args);
export const kwargsReprOf = (request: TaskRequest): string => request.headers.kwargsrepr ?? pyRepr(request.kwargs);

/** Python's `repr(exc)`: `ValueError('bad')`, `KeyError('k', 1)`, `Exception()`. */
export function exceptionRepr(exc: ExceptionInfo): string {
  const args = Array.isArray(exc.exc_message) ? exc.exc_message : [exc.exc_message];
  return `${exc.exc_type}(${args.map((a) => pythonRepr(a)).join(', ')})`;
}

export function taskReceivedFields(request: TaskRequest): Record<string, unknown> {
  return {
    uuid: request.id,
    name: request.name,
    args: argsReprOf(request),
    kwargs: kwargsReprOf(request),
    root_id: request.rootId,
    parent_id: request.parentId,
    retries: request.retries,
    eta: request.eta ? toIsoString(request.eta) : null,
    expires: request.expires ? toIsoString(request.expires) : null,
  };
}

export function taskSucceededFields(request: TaskRequest, result: unknown, runtimeSeconds: number): Record<string, unknown> {
  return { uuid: request.id, result: saferepr(result, RESULT_REPR_MAXSIZE), runtime: runtimeSeconds };
}

export function taskFailedFields(request: TaskRequest, exc: ExceptionInfo, traceback: string | null): Record<string, unknown> {
  return { uuid: request.id, exception: exceptionRepr(exc), traceback };
}

export interface RevokedHow {
  terminated: boolean;
  /** the signal number `terminate` asked for (null unless terminated) */
  signum: number | null;
  expired: boolean;
}

export function taskRevokedFields(request: TaskRequest, how: RevokedHow): Record<string, unknown> {
  return { uuid: request.id, terminated: how.terminated, signum: how.signum, expired: how.expired };
}
