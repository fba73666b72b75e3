/**
 * A task signature (Celery's plain `Signature`): one task with partial args, kwargs and options.
 * `s(...)` and `si(...)` are Celery's `task.s()` / `task.si()`.
 */
import { randomUUID } from 'node:crypto';
import type { SignatureDict } from '../../protocol/signature.js';
import { AsyncResult } from '../async-result.js';
import { dropNone, sendCanvasTask, type ApplyContext } from './apply-context.js';
import { Canvas, copyValue, registerSubtaskType, wireValue, type FreezeOptions } from './canvas.js';
import { toWireOptions, type SignatureOptions, type WireOptions } from './options.js';

/** A task by name, or anything with a name (a Nest task contract). */
export type TaskRef = string | { readonly name: string };

const nameOf = (task: TaskRef): string => (typeof task === 'string' ? task : task.name);

export class Signature extends Canvas<AsyncResult> {
  readonly subtaskType = null;

  /** A signature from its wire dict, as Celery's `Signature.from_dict` (canvas types use their own class's). */
  static fromDict(this: void, d: SignatureDict): Signature {
    return new Signature(d.task, [...(d.args ?? [])], { ...(d.kwargs ?? {}) }, { ...(d.options ?? {}) }, Boolean(d.immutable));
  }

  clone(args: unknown[] = [], kwargs: Record<string, unknown> = {}, options?: WireOptions): Signature {
    const [a, k, o] = this.merge(args, kwargs, options ?? null);
    return new Signature(this.task, [...a], copyValue(k), copyValue(o), this.immutable);
  }

  toDict(): SignatureDict {
    return this.baseDict(wireValue(this.kwargs) as Record<string, unknown>);
  }

  freezeIn(ctx: ApplyContext, options: FreezeOptions = {}): AsyncResult {
    return new AsyncResult(freezeTaskOptions(ctx, this.options, options), ctx.app.backend, null, ctx.app);
  }

  applyIn(ctx: ApplyContext, args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): Promise<AsyncResult> {
    const given = dropNone(options);
    const [a, k, o] =
      args.length || Object.keys(kwargs).length || Object.keys(given).length ? this.merge(args, kwargs, given) : [this.args, this.kwargs, this.options];
    return sendCanvasTask(ctx, this.task, a, k, o);
  }
}
registerSubtaskType(null, Signature.fromDict);

/**
 * Celery's `Signature.freeze` on an options dict: a task id (kept when already set), reply_to
 * (the sender's oid, so RPC results reach it), and the given placement. Returns the task id.
 */
export function freezeTaskOptions(ctx: ApplyContext, opts: WireOptions, { id, groupId, chord, rootId, parentId, groupIndex }: FreezeOptions): string {
  if (typeof opts.task_id !== 'string') opts.task_id = id || randomUUID();
  if (rootId) opts.root_id = rootId;
  if (parentId) opts.parent_id = parentId;
  if (!('reply_to' in opts)) opts.reply_to = ctx.app.oid;
  if (groupId && !('group_id' in opts)) opts.group_id = groupId;
  if (chord) opts.chord = chord;
  if (groupIndex !== null && groupIndex !== undefined) opts.group_index = groupIndex;
  return opts.task_id as string;
}

/** A task signature: `signature('tasks.add', [2, 2], {}, { queue: 'math' })`. */
export function signature(
  task: TaskRef,
  args: unknown[] = [],
  kwargs: Record<string, unknown> = {},
  options: SignatureOptions & { immutable?: boolean } = {},
): Signature {
  const { immutable, ...rest } = options;
  return new Signature(nameOf(task), [...args], { ...kwargs }, toWireOptions(rest), immutable ?? false);
}

/** Celery's `task.s(*args)`: a signature that receives the parent's result as its first argument. */
export function s(task: TaskRef, ...args: unknown[]): Signature {
  return signature(task, args);
}

/** Celery's `task.si(*args)`: an immutable signature, applied with exactly these args. */
export function si(task: TaskRef, ...args: unknown[]): Signature {
  return signature(task, args, {}, { immutable: true });
}
