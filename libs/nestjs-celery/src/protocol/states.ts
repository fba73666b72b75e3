/** Celery task states (celery/states.py). PENDING means "no result stored". */
export const States = {
  PENDING: 'PENDING',
  RECEIVED: 'RECEIVED',
  STARTED: 'STARTED',
  SUCCESS: 'SUCCESS',
  FAILURE: 'FAILURE',
  REVOKED: 'REVOKED',
  REJECTED: 'REJECTED',
  RETRY: 'RETRY',
  IGNORED: 'IGNORED',
} as const;

/** A task state name: one of Celery's States, or a custom one a task set with `updateState`. */
export type TaskState = (typeof States)[keyof typeof States] | (string & {});

/** Celery's `READY_STATES`: the task is done (SUCCESS, FAILURE, REVOKED). */
export const READY_STATES: ReadonlySet<string> = new Set([States.SUCCESS, States.FAILURE, States.REVOKED]);
/** Celery's `UNREADY_STATES`: the task may still change state. */
export const UNREADY_STATES: ReadonlySet<string> = new Set([States.PENDING, States.RECEIVED, States.STARTED, States.REJECTED, States.RETRY]);
/** Celery's `EXCEPTION_STATES`: the stored result is an exception. */
export const EXCEPTION_STATES: ReadonlySet<string> = new Set([States.RETRY, States.FAILURE, States.REVOKED]);
/** Celery's `PROPAGATE_STATES`: `get()` raises the stored exception. */
export const PROPAGATE_STATES: ReadonlySet<string> = new Set([States.FAILURE, States.REVOKED]);

/** True for a ready state (Celery's `state in READY_STATES`). */
export const isReady = (state: string): boolean => READY_STATES.has(state);
