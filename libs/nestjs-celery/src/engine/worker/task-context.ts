import type { TaskRequest } from '../../protocol/task-message.js';
import type { DeliveryInfo } from '../../transport/broker.interface.js';

/** What a task handler knows about the message it runs (Celery's `self.request` + helpers). */
export interface TaskContext {
  id: string;
  /** the registered task name */
  task: string;
  retries: number;
  request: TaskRequest;
  headers: Record<string, unknown>;
  deliveryInfo: DeliveryInfo;
  /** the worker's nodename */
  hostname: string;
  /** aborted when the task must stop (soft time limit, revoke --terminate, shutdown) */
  signal: AbortSignal;
  /** Celery's `update_state`: store an intermediate state, e.g. `('PROGRESS', { done: 3, total: 10 })`. */
  updateState(state: string, meta?: unknown): Promise<void>;
}

/** A task implementation: Celery's positional args and kwargs, plus the context. */
export type TaskHandler = (args: unknown[], kwargs: Record<string, unknown>, context: TaskContext) => unknown;

export interface TaskOptions {
  /** Celery's ignore_result */
  ignoreResult?: boolean;
  /** store STARTED before running (task_track_started) */
  trackStarted?: boolean;
}
