/**
 * Celery's `xmap`, `xstarmap` and `chunks` (celery/canvas.py): one `celery.map` /
 * `celery.starmap` message that runs the task in-process for every item, and `chunks`, expanded
 * on the client into a group of `celery.starmap` messages over slices of the items.
 *
 * Deviation from Celery 5.2: its `xmap.apply_async`/`chunks.apply_async` ignore the signature's
 * own options (a `.set(queue=…)`, a frozen task id). Here they are honoured, so a map inside a
 * chain stores its result under the id the chain's client waits for.
 */
import type { SignatureDict } from '../../protocol/signature.js';
import { AsyncResult } from '../async-result.js';
import { dropNone, sendCanvasTask, type ApplyContext } from './apply-context.js';
import { Canvas, copyValue, isCanvas, registerSubtaskType, signatureFromDict, type FreezeOptions } from './canvas.js';
import { Group } from './group.js';
import type { GroupResult } from './group-result.js';
import type { WireOptions } from './options.js';
import { freezeTaskOptions, signature, type TaskRef } from './signature.js';

type MapKind = 'xmap' | 'xstarmap';

const asSignature = (task: TaskRef | Canvas): Canvas => (isCanvas(task) ? task : signature(task));

/** `celery.map` (`task(item)` per item) or `celery.starmap` (`task(*item)`). */
export class XMap extends Canvas<AsyncResult> {
  constructor(
    readonly subtaskType: MapKind,
    /** the task run for each item (its args/kwargs are not used, as in Celery) */
    readonly inner: Canvas,
    readonly it: unknown[],
    options: WireOptions = {},
  ) {
    super(subtaskType === 'xmap' ? 'celery.map' : 'celery.starmap', [], {}, options, true);
  }

  /** A map or starmap from its wire dict (`subtask_type: 'xmap'` / `'xstarmap'`), as Celery's `xmap.from_dict`. */
  static fromDict(this: void, d: SignatureDict): XMap {
    const kwargs = d.kwargs ?? {};
    return new XMap(d.subtask_type as MapKind, signatureFromDict(kwargs.task as SignatureDict), [...((kwargs.it as unknown[]) ?? [])], {
      ...(d.options ?? {}),
    });
  }

  clone(_args?: unknown[], _kwargs?: Record<string, unknown>, options?: WireOptions): XMap {
    const [, , o] = this.merge([], {}, options ?? null);
    return new XMap(this.subtaskType, this.inner.clone(), copyValue(this.it), copyValue(o));
  }

  toDict(): SignatureDict {
    return this.baseDict({ task: this.inner.toDict(), it: this.it });
  }

  freezeIn(ctx: ApplyContext, options: FreezeOptions = {}): AsyncResult {
    return new AsyncResult(freezeTaskOptions(ctx, this.options, options), ctx.app.backend, null, ctx.app);
  }

  applyIn(ctx: ApplyContext, _args: unknown[], _kwargs: Record<string, unknown>, options: WireOptions): Promise<AsyncResult> {
    return sendCanvasTask(ctx, this.task, [], { task: this.inner.toDict(), it: [...this.it] }, { ...this.options, ...dropNone(options) });
  }
}
registerSubtaskType('xmap', XMap.fromDict);
registerSubtaskType('xstarmap', XMap.fromDict);

/** `chunks(task, items, n)`: a group of `celery.starmap` tasks, each over `n` items. */
export class Chunks extends Canvas<GroupResult> {
  readonly subtaskType = 'chunks';
  private frozen?: Group;

  constructor(
    readonly inner: Canvas,
    readonly it: unknown[][],
    readonly n: number,
    options: WireOptions = {},
  ) {
    super('celery.chunks', [], {}, options, true);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`chunks(task, items, n): n must be a positive integer, got ${n}`);
  }

  /** Chunks from its wire dict (`subtask_type: 'chunks'`), as Celery's `chunks.from_dict`. */
  static fromDict(this: void, d: SignatureDict): Chunks {
    const kwargs = d.kwargs ?? {};
    return new Chunks(signatureFromDict(kwargs.task as SignatureDict), [...((kwargs.it as unknown[][]) ?? [])], Number(kwargs.n), { ...(d.options ?? {}) });
  }

  clone(_args?: unknown[], _kwargs?: Record<string, unknown>, options?: WireOptions): Chunks {
    const [, , o] = this.merge([], {}, options ?? null);
    return new Chunks(this.inner.clone(), copyValue(this.it), this.n, copyValue(o));
  }

  toDict(): SignatureDict {
    return this.baseDict({ task: this.inner.toDict(), it: this.it, n: this.n });
  }

  /** The group this expands to: one `celery.starmap` per slice of n items. */
  group(): Group {
    const parts: Canvas[] = [];
    for (let i = 0; i < this.it.length; i += this.n) parts.push(new XMap('xstarmap', this.inner, this.it.slice(i, i + this.n)));
    return new Group(parts);
  }

  freezeIn(ctx: ApplyContext, options: FreezeOptions = {}): GroupResult {
    this.frozen ??= this.group();
    this.frozen.options.task_id ??= this.options.task_id;
    return this.frozen.freezeIn(ctx, options);
  }

  applyIn(ctx: ApplyContext, args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): Promise<GroupResult> {
    return (this.frozen ?? this.group()).applyIn(ctx, args, kwargs, { ...this.options, ...dropNone(options) });
  }
}
registerSubtaskType('chunks', Chunks.fromDict);

/** `xmap(task, items)`: one `celery.map` message; the worker returns `[task(item) for item in items]`. */
export function xmap(task: TaskRef | Canvas, it: Iterable<unknown>): XMap {
  return new XMap('xmap', asSignature(task), [...it]);
}

/** `xstarmap(task, items)`: one `celery.starmap` message; the worker returns `[task(...item) for item in items]`. */
export function xstarmap(task: TaskRef | Canvas, it: Iterable<unknown[]>): XMap {
  return new XMap('xstarmap', asSignature(task), [...it]);
}

/** `chunks(task, items, n)`: items split into `celery.starmap` tasks of n items, run as a group. */
export function chunks(task: TaskRef | Canvas, it: Iterable<unknown[]>, n: number): Chunks {
  return new Chunks(asSignature(task), [...it], n);
}
