/** Result documents in Celery 5.2's key order, as a worker stores them (for the backend suites). */
import type { ResultMeta } from '../../libs/nestjs-celery/src/protocol/result-meta.js';
import { isReady } from '../../libs/nestjs-celery/src/protocol/states.js';

export function resultMeta(
  taskId: string,
  status: string,
  result: unknown,
  extra: { traceback?: string | null; group_id?: string; parent_id?: string } = {},
): ResultMeta {
  return {
    status,
    result,
    traceback: extra.traceback ?? null,
    children: [],
    // datetime.utcnow().isoformat(): naive UTC with microseconds
    date_done: isReady(status) ? new Date().toISOString().replace('Z', '000') : null,
    ...(extra.group_id ? { group_id: extra.group_id } : {}),
    ...(extra.parent_id ? { parent_id: extra.parent_id } : {}),
    task_id: taskId,
  };
}

export const valueError = (message: string) => ({ exc_type: 'ValueError', exc_message: [message], exc_module: 'builtins' });
