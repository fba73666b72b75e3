import type { TaskState } from './states.js';

/**
 * The task result document exactly as Celery stores it (celery/backends/base.py
 * `_get_result_meta`): snake_case keys, `result` already in wire form (for exception states
 * the `{exc_type, exc_message, exc_module}` dict).
 */
export interface ResultMeta {
  status: TaskState;
  result: unknown;
  traceback: string | null;
  /** result tuples: [[id, parent|null], null] for a task, [[gid, parent|null], [...]] for a group */
  children: unknown[] | null;
  /** naive UTC ISO string for ready states (Celery 5.2), null otherwise; absent in RPC replies */
  date_done?: string | null;
  task_id: string;
  group_id?: string;
  parent_id?: string;
  /** result_extended fields */
  name?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  worker?: string;
  retries?: number;
  queue?: string;
  [key: string]: unknown;
}
