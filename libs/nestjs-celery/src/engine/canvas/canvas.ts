/**
 * The common base of every canvas primitive (Celery's `Signature` in celery/canvas.py): a task
 * name, partial args/kwargs, options, `subtask_type` and `immutable`, serialized as Celery's
 * signature dict. Subclasses register themselves by `subtask_type` so dicts read from messages
 * become the right class (Celery's `Signature.from_dict` / `TYPES`).
 *
 * This module imports no subclass: they all extend Canvas, and a cycle back to this file would
 * leave the base class undefined while a subclass is being declared.
 */
import { pyTuple } from '../../protocol/py-values.js';
import type { SignatureDict } from '../../protocol/signature.js';
import type { AsyncResult } from '../async-result.js';
import type { Celery } from '../celery.js';
import type { ApplyContext } from './apply-context.js';
import { InvalidSignatureError } from './errors.js';
import { CANVAS_BRAND, isSignatureLike } from './signature-like.js';
import type { GroupResult } from './group-result.js';
import { stampOptions, toWireOptions, type SignatureOptions, type WireOptions } from './options.js';
import { mergeStamps, stampedHeaderNames, stampsFromOptions, type Stamps } from '../../protocol/stamps.js';

/** `stamp()` options: Celery's `append_stamps`. */
export interface StampOptions {
  /** keep an existing stamp of the same name too, as a list (new value first); default: replace it */
  appendStamps?: boolean;
}

export type SubtaskType = null | 'chain' | 'group' | 'chord' | 'xmap' | 'xstarmap' | 'chunks';

/** Celery's `freeze(_id, group_id, chord, root_id, parent_id, group_index)` arguments. */
export interface FreezeOptions {
  id?: string | null;
  groupId?: string | null;
  chord?: Canvas | null;
  rootId?: string | null;
  parentId?: string | null;
  groupIndex?: number | null;
}

export function isCanvas(value: unknown): value is Canvas {
  return isSignatureLike(value);
}

type FromDict = (d: SignatureDict) => Canvas;
// eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- names the known types for the reader; any string is a key
const TYPES = new Map<SubtaskType | string, FromDict>();

type Pipe = (left: Canvas, right: Canvas) => Canvas;
let pipeImpl: Pipe | undefined;

/** Called by pipe.ts: Celery's `|` needs every primitive, which this module cannot import. */
export function registerPipe(pipe: Pipe): void {
  pipeImpl = pipe;
}

/** Called by each primitive's module: how to rebuild its dicts. */
export function registerSubtaskType(type: SubtaskType, fromDict: FromDict): void {
  TYPES.set(type, fromDict);
}

/** A signature dict from a message (or a Canvas) as a Canvas of the right class. */
export function signatureFromDict(d: SignatureDict | Canvas): Canvas {
  if (isCanvas(d)) return d;
  if (d === null || typeof d !== 'object' || typeof d.task !== 'string') {
    throw new InvalidSignatureError(
      `not a Celery signature: ${JSON.stringify(d)?.slice(0, 200)}; expected {task, args, kwargs, options, subtask_type, immutable}`,
    );
  }
  const fromDict = TYPES.get(d.subtask_type ?? null);
  if (!fromDict) {
    throw new InvalidSignatureError(
      `signature of task ${d.task} has an unknown subtask_type ${JSON.stringify(d.subtask_type)}; known: ${[...TYPES.keys()].map(String).join(', ')}`,
    );
  }
  return fromDict(d);
}

/** Deep copy of option values; signatures inside are copied as signatures (Celery deep-copies options on clone). */
export function copyValue<T>(value: T): T {
  if (isCanvas(value)) return value.clone() as T;
  if (Array.isArray(value)) return value.map(copyValue) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = copyValue(v);
    return out as T;
  }
  return value;
}

/** Options in wire form for a dict: nested signatures become dicts. */
export function wireValue(value: unknown): unknown {
  if (isCanvas(value)) return value.toDict();
  if (Array.isArray(value)) return value.map(wireValue);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = wireValue(v);
    return out;
  }
  return value;
}

/** Options Celery never lets a merge overwrite once set (`Signature._IMMUTABLE_OPTIONS`), stamps too. */
const IMMUTABLE_OPTIONS: ReadonlySet<string> = new Set(['group_id', 'stamped_headers']);

/**
 * Every canvas primitive. `R` is what applying it resolves to: an AsyncResult, or a GroupResult
 * for groups and chunks.
 */
export abstract class Canvas<R extends CanvasResult = CanvasResult> {
  readonly [CANVAS_BRAND] = true as const;
  abstract readonly subtaskType: SubtaskType;
  /** the options dict, wire names (task_id, reply_to, link, link_error, queue …) */
  options: WireOptions;

  constructor(
    /** the task name (`celery.chain`, `celery.group`, … for composite signatures) */
    readonly task: string,
    public args: unknown[] = [],
    public kwargs: Record<string, unknown> = {},
    options: WireOptions = {},
    public immutable = false,
  ) {
    this.options = options;
  }

  /** The frozen task id (options.task_id), undefined before freezing. */
  get id(): string | undefined {
    return typeof this.options.task_id === 'string' ? this.options.task_id : undefined;
  }

  /** Set options (Celery's `.set(**options)`); `immutable` sets immutability. Returns this. */
  set(options: SignatureOptions & { immutable?: boolean }): this {
    const { immutable, ...rest } = options;
    if (immutable !== undefined) this.setImmutable(immutable);
    Object.assign(this.options, toWireOptions(rest));
    return this;
  }

  /** Make the signature immutable (Celery's `set_immutable`): a parent's result is then not prepended to its args. */
  setImmutable(immutable: boolean): this {
    this.immutable = immutable;
    return this;
  }

  /** Add a success callback: applied with this task's return value prepended to its args. Returns this. */
  link(callback: Canvas): this {
    this.appendToListOption('link', callback);
    return this;
  }

  /** Add an errback: applied as a task with the failed task's id as its first argument. Returns this. */
  linkError(errback: Canvas): this {
    this.appendToListOption('link_error', errback);
    return this;
  }

  /** Alias of linkError (Celery's `on_error`, which returns the signature itself). */
  onError(errback: Canvas): this {
    return this.linkError(errback);
  }

  /**
   * Stamp this canvas (Celery 5.3+ `sig.stamp(**headers)`, without a visitor): every task it
   * will send carries the stamps (`stamped_headers` / `stamps` headers): a chain's steps, a
   * group's members, a chord's header and body, and every link and link_error. Workers (Python
   * or Nest) keep them on what they send next, and `control.revokeByStampedHeaders()` matches
   * them. Returns this.
   */
  stamp(stamps: Stamps, options: StampOptions = {}): this {
    this.stampLinks(stamps, options);
    for (const member of this.stampMembers()) member.stamp(stamps, options);
    if (this.stampsItself()) Object.assign(this.options, stampOptions(mergeStamps(stampsFromOptions(this.options), stamps, options.appendStamps)));
    return this;
  }

  /** The stamps this signature's own message will carry. */
  get stamps(): Stamps {
    return stampsFromOptions(this.options) ?? {};
  }

  /** @internal the signatures a stamp reaches inside this one (a chain's steps, a chord's header and body) */
  protected stampMembers(): Canvas[] {
    return [];
  }

  /** @internal whether stamps go into this signature's own options (a task does; chain, group, chord stamp their members) */
  protected stampsItself(): boolean {
    return true;
  }

  /** Celery's `stamp_links`: callbacks and errbacks get the stamps (not the linked signature's own). */
  private stampLinks(stamps: Stamps, options: StampOptions): void {
    for (const key of ['link', 'link_error'] as const) {
      const links = this.options[key];
      if (links === undefined || links === null) continue;
      // dicts read from a message become signatures so they can be stamped
      const list = (Array.isArray(links) ? links : [links]).map((l) => signatureFromDict(l as SignatureDict | Canvas));
      for (const link of list) link.stamp(stamps, options);
      this.options[key] = list;
    }
  }

  /**
   * Celery's `|`: `a.pipe(b)` is `a | b` (a chain; `group.pipe(task)` is a chord; a chain ending
   * in a group piped into a task turns that group into a chord).
   */
  pipe(...others: Canvas[]): Canvas {
    if (!pipeImpl) throw new InvalidSignatureError('canvas primitives are not loaded; import them from the package (or engine/canvas/index.js)');
    return others.reduce<Canvas>((left, right) => pipeImpl!(left, right), this);
  }

  /** A copy with partial args prepended, kwargs and options merged (Celery's `clone`). */
  abstract clone(args?: unknown[], kwargs?: Record<string, unknown>, options?: WireOptions): Canvas<R>;

  /** The signature dict Celery puts on the wire. */
  abstract toDict(): SignatureDict;

  /** `JSON.stringify` gives the wire dict (`toDict()`), as Celery's signatures are dicts. */
  toJSON(): SignatureDict {
    return this.toDict();
  }

  /**
   * Give this signature (and everything inside it) its task ids now, as Celery's `freeze()`:
   * the returned result is where its outcome will be, before anything is sent.
   */
  freeze(app: Celery, options: FreezeOptions = {}): R {
    return this.freezeIn({ app }, options);
  }

  /** Send it: resolves once every message it starts with was taken by the broker. */
  applyAsync(app: Celery, args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: SignatureOptions = {}): Promise<R> {
    return this.applyIn({ app }, args, kwargs, toWireOptions(options));
  }

  /** `applyAsync` with star arguments, Celery's `delay`. */
  delay(app: Celery, ...args: unknown[]): Promise<R> {
    return this.applyAsync(app, args);
  }

  /** @internal freeze with the context of who is sending (a client, or a worker's running task) */
  abstract freezeIn(ctx: ApplyContext, options: FreezeOptions): R;

  /** @internal Celery's apply_async: options are wire options (apply-time ones win over stored ones) */
  abstract applyIn(ctx: ApplyContext, args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): Promise<R>;

  /** Celery's `_merge`: partial args first, kwargs merged, options merged except group_id; immutable keeps args/kwargs. */
  protected merge(args: unknown[], kwargs: Record<string, unknown>, options: WireOptions | null): [unknown[], Record<string, unknown>, WireOptions] {
    let merged = this.options;
    if (options !== null) {
      merged = { ...this.options };
      const stamped = stampedHeaderNames(this.options.stamped_headers);
      for (const [k, v] of Object.entries(options)) if ((!IMMUTABLE_OPTIONS.has(k) && !stamped.includes(k)) || !(k in this.options)) merged[k] = v;
    }
    if (this.immutable) return [this.args, this.kwargs, merged];
    return [args.length ? [...args, ...this.args] : this.args, Object.keys(kwargs).length ? { ...this.kwargs, ...kwargs } : this.kwargs, merged];
  }

  /** The base dict, with `args` marked as a Python tuple so argsrepr/kwargsrepr read `()` as Celery's do. */
  protected baseDict(kwargs: Record<string, unknown>): SignatureDict {
    return {
      task: this.task,
      args: pyTuple(this.args.map(wireValue)),
      kwargs,
      options: wireValue(this.options) as Record<string, unknown>,
      subtask_type: this.subtaskType,
      immutable: this.immutable,
    };
  }

  private appendToListOption(key: 'link' | 'link_error', value: Canvas): void {
    let items = this.options[key];
    if (!Array.isArray(items)) items = this.options[key] = items === undefined || items === null ? [] : [items];
    if (!(items as unknown[]).includes(value)) (items as unknown[]).push(value);
  }
}

/** A canvas of signatures listed in `kwargs.tasks` (Celery's chain and group). */
export abstract class TaskListCanvas<R extends CanvasResult> extends Canvas<R> {
  constructor(
    task: string,
    public tasks: Canvas[],
    options: WireOptions = {},
    args: unknown[] = [],
    immutable = false,
  ) {
    super(task, args, {}, options, immutable);
  }

  /** The member signatures of a chain or group dict. */
  static tasksOf(d: SignatureDict): Canvas[] {
    return ((d.kwargs?.tasks as SignatureDict[] | undefined) ?? []).map(signatureFromDict);
  }

  clone(args: unknown[] = [], kwargs: Record<string, unknown> = {}, options?: WireOptions): this {
    const [a, , o] = this.merge(args, kwargs, options ?? null);
    return this.rebuild(
      this.tasks.map((t) => t.clone()),
      copyValue(o),
      [...a],
    );
  }

  toDict(): SignatureDict {
    return this.baseDict({ tasks: this.tasks.map((t) => t.toDict()) });
  }

  protected override stampMembers(): Canvas[] {
    return this.tasks;
  }

  protected override stampsItself(): boolean {
    return false;
  }

  /** A new instance of the same class (immutability kept). */
  protected abstract rebuild(tasks: Canvas[], options: WireOptions, args: unknown[]): this;
}

/** What applying a canvas gives: a task's AsyncResult, or a GroupResult (groups, chunks). */
export type CanvasResult = AsyncResult | GroupResult;

/** The result type a canvas resolves to. */
export type ResultOf<C> = C extends Canvas<infer R> ? R : never;
