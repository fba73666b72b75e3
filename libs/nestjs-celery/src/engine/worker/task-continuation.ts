// TaskContinuation: the hook the worker calls around a task's outcome (canvas plugs into it), and the no-op default.
import type { ExceptionInfo } from '../../protocol/exceptions.js';
import type { TaskRequest } from '../../protocol/task-message.js';

/**
 * What happens around a task's outcome beyond storing it: Celery's canvas continuation
 * (celery/app/trace.py, celery/backends/base.py mark_as_done / mark_as_failure). The worker
 * calls these at the points Celery does; the default does nothing.
 */
export interface TaskContinuation {
  /**
   * The task succeeded; called before its SUCCESS is stored (Celery applies link callbacks and
   * the next chain step first, so the stored `children` are populated). Returns those children
   * as result tuples (`[[id, null], null]` …). A task with nothing to continue may get its
   * (empty) children back synchronously.
   */
  onSuccess(request: TaskRequest, result: unknown): unknown[] | Promise<unknown[]>;
  /** The task's SUCCESS is stored: chord part accounting (undefined: nothing to do). */
  afterSuccessStored(request: TaskRequest, result: unknown): Promise<void> | undefined;
  /** The task's FAILURE (or REVOKED) is stored: remaining chain steps, chord part, errbacks. */
  afterFailureStored(request: TaskRequest, state: string, exception: ExceptionInfo, traceback: string | null): Promise<void>;
}

export const noContinuation: TaskContinuation = {
  onSuccess: () => [],
  afterSuccessStored: () => undefined,
  afterFailureStored: async () => undefined,
};
