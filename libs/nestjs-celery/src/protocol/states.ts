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

export type TaskState = (typeof States)[keyof typeof States] | (string & {});

export const READY_STATES: ReadonlySet<string> = new Set([States.SUCCESS, States.FAILURE, States.REVOKED]);
export const UNREADY_STATES: ReadonlySet<string> = new Set([States.PENDING, States.RECEIVED, States.STARTED, States.REJECTED, States.RETRY]);
export const EXCEPTION_STATES: ReadonlySet<string> = new Set([States.RETRY, States.FAILURE, States.REVOKED]);
export const PROPAGATE_STATES: ReadonlySet<string> = new Set([States.FAILURE, States.REVOKED]);

export const isReady = (state: string): boolean => READY_STATES.has(state);
