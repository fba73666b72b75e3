/**
 * Who is applying a canvas: a client, or a worker continuing one from inside a running task.
 * Celery reads the latter from a thread-local (`app.current_worker_task`); here it is passed
 * explicitly.
 */
import type { AsyncResult, ResultNode } from '../async-result.js';
import type { Celery } from '../celery.js';
import { sendOptionsFromWire, type WireOptions } from './options.js';

export interface ApplyContext {
  readonly app: Celery;
  /**
   * Celery's `add_trail`: what a running task applies (each sent task, each group as a whole)
   * becomes the `children` of its stored result.
   */
  readonly trail?: ResultNode[];
  /**
   * The running worker task. Celery's `send_task` fills a missing parent_id/root_id from it, and
   * a worker does not subscribe to what it sends (`task_join_will_block`).
   */
  readonly current?: { id: string; rootId: string };
}

/** Celery's apply_async drops options given as None. */
export function dropNone(options: WireOptions): WireOptions {
  const out: WireOptions = {};
  for (const [k, v] of Object.entries(options)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

/** Celery's `send_task` for one task of a canvas (options in wire form). */
export async function sendCanvasTask(
  ctx: ApplyContext,
  name: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  options: WireOptions,
): Promise<AsyncResult> {
  const send = sendOptionsFromWire(options);
  if (ctx.current) {
    send.parentId ??= ctx.current.id;
    send.rootId ??= ctx.current.rootId;
    send.awaitResult = false;
  }
  const result = await ctx.app.sendTask(name, args, kwargs, send);
  if (options.add_to_parent !== false) ctx.trail?.push(result);
  return result;
}
