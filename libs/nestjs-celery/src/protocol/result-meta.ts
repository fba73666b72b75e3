// The result document Celery stores for a task (celery/backends/base.py _get_result_meta) and how to build it.
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

/** Request context of a stored state (Celery's `request` argument to `store_result`). */
export interface ResultRequestContext {
  groupId?: string | null;
  parentId?: string | null;
  /** result_extended fields, written only when extended results are on */
  extended?: { name: string; args: unknown[]; kwargs: Record<string, unknown>; worker: string; retries: number; queue: string };
}

/**
 * Build the meta document in Celery 5.2's key order (`_get_result_meta` then `task_id`):
 * status, result, traceback, children, date_done, [group_id], [parent_id], [extended…], task_id.
 * `dateDone` is the naive UTC isoformat for ready states and null otherwise.
 */
export function createResultMeta(
  taskId: string,
  status: TaskState,
  result: unknown,
  options: { traceback?: string | null; children?: unknown[] | null; dateDone?: string | null; request?: ResultRequestContext } = {},
): ResultMeta {
  const meta = {
    status,
    result,
    traceback: options.traceback ?? null,
    children: options.children === undefined ? [] : options.children,
    date_done: options.dateDone ?? null,
  } as ResultMeta;
  const req = options.request;
  if (req?.groupId) meta.group_id = req.groupId;
  if (req?.parentId) meta.parent_id = req.parentId;
  if (req?.extended) Object.assign(meta, req.extended);
  meta.task_id = taskId; // last, as Celery's _store_result adds it after the meta
  return meta;
}
