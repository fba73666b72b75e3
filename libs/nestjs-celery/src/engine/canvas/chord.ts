/**
 * Celery's `chord` (celery/canvas.py `_chord`): a header group whose results, in header order,
 * are the body's first argument. The client freezes the body, embeds it in every header message
 * (`embed.chord`), and either sets the Redis chord size (native chords) or sends
 * `celery.chord_unlock` (backends without them).
 */
import { randomUUID } from 'node:crypto';
import { pyTuple } from '../../protocol/py-values.js';
import type { SignatureDict } from '../../protocol/signature.js';
import type { AsyncResult, ResultNode, ResultTuple } from '../async-result.js';
import { sendCanvasTask, type ApplyContext } from './apply-context.js';
import { Canvas, copyValue, isCanvas, registerSubtaskType, signatureFromDict, type FreezeOptions } from './canvas.js';
import { ChordsNotSupportedError, InvalidSignatureError } from './errors.js';
import { Group } from './group.js';
import { GroupResult, type GroupMember } from './group-result.js';
import type { WireOptions } from './options.js';

export class Chord extends Canvas<AsyncResult> {
  readonly subtaskType = 'chord';
  /** the header: a list until frozen, then the frozen group (as Celery's `chord.tasks`) */
  tasks: Canvas[] | Group;

  constructor(
    header: Canvas[] | Group | Canvas,
    public body: Canvas | null,
    options: WireOptions = {},
    args: unknown[] = [],
    immutable = false,
  ) {
    super('celery.chord', args, {}, options, immutable);
    this.tasks = headerTasks(header);
  }

  /** A chord from its wire dict (`subtask_type: 'chord'`), as Celery's `chord.from_dict`. */
  static fromDict(this: void, d: SignatureDict): Chord {
    const kwargs = d.kwargs ?? {};
    const header = kwargs.header as SignatureDict | SignatureDict[] | undefined;
    const tasks = Array.isArray(header) ? header.map(signatureFromDict) : header ? signatureFromDict(header) : [];
    const body = kwargs.body ? signatureFromDict(kwargs.body as SignatureDict) : null;
    return new Chord(tasks, body, { ...(d.options ?? {}) }, [...(d.args ?? [])], Boolean(d.immutable));
  }

  /** The header members. */
  get header(): Canvas[] {
    return this.tasks instanceof Group ? this.tasks.tasks : this.tasks;
  }

  clone(args: unknown[] = [], kwargs: Record<string, unknown> = {}, options?: WireOptions): Chord {
    const [a, , o] = this.merge(args, kwargs, options ?? null);
    const tasks = this.tasks instanceof Group ? this.tasks.clone() : this.tasks.map((t) => t.clone());
    return new Chord(tasks, this.body?.clone() ?? null, copyValue(o), [...a], this.immutable);
  }

  toDict(): SignatureDict {
    const header = this.tasks instanceof Group ? this.tasks.toDict() : this.tasks.map((t) => t.toDict());
    return this.baseDict({ kwargs: {}, header, body: this.body ? this.body.toDict() : null });
  }

  protected override stampMembers(): Canvas[] {
    return this.body ? [...this.header, this.body] : [...this.header];
  }

  protected override stampsItself(): boolean {
    return false;
  }

  /** Celery: a chord's callback and errback belong to its body. */
  override link(callback: Canvas): this {
    this.requireBody().link(callback);
    return this;
  }

  override linkError(errback: Canvas): this {
    this.requireBody().linkError(errback);
    return this;
  }

  /** Celery: only the header's immutability changes. */
  override setImmutable(immutable: boolean): this {
    for (const t of this.header) t.setImmutable(immutable);
    return this;
  }

  freezeIn(ctx: ApplyContext, { id, groupId, chord, rootId, parentId, groupIndex }: FreezeOptions = {}): AsyncResult {
    const body = this.requireBody();
    if (!(this.tasks instanceof Group)) this.tasks = new Group(this.tasks);
    const headerResult = this.tasks.freezeIn(ctx, { parentId, rootId, chord: body });
    const bodyResult = body.freezeIn(ctx, { id, rootId, chord, groupId, groupIndex });
    // the body (or a chain's first step) hangs off the header group
    let node: ResultNode | null = bodyResult;
    const seen = new Set<string>();
    while (node) {
      if (seen.has(node.id)) throw new InvalidSignatureError('recursive result parents in a chord body');
      seen.add(node.id);
      if (!node.parent) {
        node.parent = headerResult;
        break;
      }
      node = node.parent;
    }
    this.options.task_id = this.tasks.options.task_id;
    return bodyResult as AsyncResult;
  }

  /** Celery's `_chord.apply_async` + `run`. */
  async applyIn(ctx: ApplyContext, args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): Promise<AsyncResult> {
    const partial = args.length && !this.immutable ? [...args, ...this.args] : this.args;
    // apply-time options reach the body too (Celery clones the body with them)
    const body = this.requireBody().clone([], {}, options);
    const header = this.tasks instanceof Group ? this.tasks.clone() : new Group(this.tasks.map((t) => t.clone()));
    const { task_id: taskId, interval, countdown, max_retries: maxRetries, ...rest } = { ...this.options, ...options };
    const groupId = typeof header.options.task_id === 'string' ? header.options.task_id : randomUUID();
    const rootId = body.options.root_id as string | null | undefined;
    delete rest.eager;
    Object.assign(body.options, rest);
    const bodyResult = body.freezeIn(ctx, { id: taskId as string | null, rootId });
    // neither the chain after the chord nor an outer chord belongs to the header tasks
    delete rest.chain;
    delete rest.chord;
    const [, headerResults] = header.freezeGroupTasks(ctx, { groupId, chord: body, rootId });
    let headerResult: GroupResult;
    if (header.tasks.length) {
      await applyChord(ctx, groupId, headerResults, body, {
        interval: (interval as number | null | undefined) ?? null,
        countdown: (countdown as number | undefined) ?? 1,
        maxRetries: (maxRetries as number | null | undefined) ?? null,
      });
      headerResult = await header.applyIn(ctx, partial, {}, { ...rest, task_id: groupId });
    } else {
      // nothing will ever complete the header: the body runs now, with no results
      await body.applyIn(ctx, [[]], {}, {});
      headerResult = new GroupResult(groupId, headerResults, ctx.app.backend);
    }
    bodyResult.parent = headerResult;
    return bodyResult as AsyncResult;
  }

  private requireBody(): Canvas {
    if (!this.body) throw new InvalidSignatureError('this chord has no body: give chord(header, body) a body signature');
    return this.body;
  }
}
registerSubtaskType('chord', Chord.fromDict);

/** Celery's `_maybe_group`: a chord header as its list of member signatures. */
function headerTasks(header: Canvas[] | Group | Canvas): Canvas[] | Group {
  if (Array.isArray(header)) return header.map(signatureFromDict);
  if (header instanceof Group) return [...header.tasks];
  if (header.subtaskType === 'chain') return [...(header as Canvas & { tasks: Canvas[] }).tasks];
  return [header];
}

/** Celery's `ensure_chords_allowed`: rpc:// (and no backend at all) cannot join a chord. */
export function ensureChordsAllowed(ctx: ApplyContext): void {
  const backend = ctx.app.backend;
  if (!backend) throw new ChordsNotSupportedError('disabled (no result backend configured)');
  if (!backend.capabilities.chords) throw new ChordsNotSupportedError(backend.kind);
}

/**
 * Celery's `backend.apply_chord`: native backends need nothing here (the size is set with the
 * header); others get `celery.chord_unlock` (`fallback_chord_unlock`), which polls the header.
 */
async function applyChord(
  ctx: ApplyContext,
  groupId: string,
  headerResults: GroupMember[],
  body: Canvas,
  o: { interval: number | null; countdown: number; maxRetries: number | null },
): Promise<void> {
  ensureChordsAllowed(ctx);
  if (ctx.app.backend!.chord) return;
  const result = headerResults.map((r) => asPyTuple(r.asTuple()));
  await sendCanvasTask(
    ctx,
    'celery.chord_unlock',
    [groupId, body.toDict()],
    { interval: o.interval, max_retries: o.maxRetries, result },
    {
      countdown: o.countdown,
      queue: typeof body.options.queue === 'string' ? body.options.queue : ctx.app.defaultQueue,
      priority: typeof body.options.priority === 'number' ? body.options.priority : 0,
      ignore_result: true,
    },
  );
}

/** A result tuple marked as Python tuples, so kwargsrepr reads like Celery's (`((...), None)`). */
function asPyTuple(t: ResultTuple): ResultTuple {
  const [[id, parent], members] = t;
  return pyTuple([pyTuple([id, parent ? asPyTuple(parent) : null]), members ? members.map(asPyTuple) : null]);
}

/**
 * `chord(header, body)`: run the header in parallel, then the body with their results in
 * header order. Needs a result backend that supports chords (Redis natively; others through
 * `celery.chord_unlock`; rpc:// refuses, as in Celery).
 */
export function chord(header: Canvas[] | Group, body?: Canvas): Chord {
  if (body !== undefined && !isCanvas(body)) throw new InvalidSignatureError('chord(header, body): the body must be a signature');
  return new Chord(header, body ?? null);
}
