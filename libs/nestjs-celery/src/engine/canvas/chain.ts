/**
 * Celery's `chain` (celery/canvas.py `_chain`): every step is frozen with its own id, the first
 * is sent with the others in `embed.chain` in reverse order (the worker pops the next one), and
 * `group | task` inside a chain becomes a chord.
 */
import type { SignatureDict } from '../../protocol/signature.js';
import { AsyncResult, type ResultNode } from '../async-result.js';
import type { GroupMember } from './group-result.js';
import type { ApplyContext } from './apply-context.js';
import { Canvas, TaskListCanvas, registerSubtaskType, signatureFromDict, type FreezeOptions } from './canvas.js';
import { Chord, ensureChordsAllowed } from './chord.js';
import { EmptyCanvasError } from './errors.js';
import { Group, maybeUnrollGroup } from './group.js';
import { maybeList, type WireOptions } from './options.js';

/** Celery's `chain`: tasks run one after another, each getting its parent's result (unless immutable); build with `chain(...)`. */
export class Chain<R extends GroupMember = AsyncResult> extends TaskListCanvas<R> {
  readonly subtaskType = 'chain';

  constructor(tasks: Canvas[], options: WireOptions = {}, args: unknown[] = [], immutable = false) {
    super('celery.chain', tasks, options, args, immutable);
  }

  /** A chain from its wire dict (`subtask_type: 'chain'`), as Celery's `chain.from_dict`. */
  static fromDict(this: void, d: SignatureDict): Chain {
    return new Chain(TaskListCanvas.tasksOf(d), { ...(d.options ?? {}) });
  }

  protected rebuild(tasks: Canvas[], options: WireOptions, args: unknown[]): this {
    return new Chain<R>(tasks, options, args, this.immutable) as this;
  }

  /** The steps, copied, each carrying the chain's errbacks (Celery's `unchain_tasks`). */
  unchainTasks(): Canvas[] {
    const tasks = this.tasks.map((t) => t.clone());
    for (const errback of maybeList(this.options.link_error as Canvas | Canvas[] | undefined) ?? []) {
      for (const t of tasks) t.linkError(errback);
    }
    return tasks;
  }

  freezeIn(ctx: ApplyContext, { id, groupId, chord, rootId, parentId, groupIndex }: FreezeOptions = {}): R {
    const [, results] = prepareSteps(ctx, this.args, this.kwargs, this.tasks, {
      rootId,
      parentId,
      lastTaskId: id,
      groupId,
      chordBody: chord,
      groupIndex,
      clone: false,
    });
    return results[0] as R;
  }

  /** Celery's `_chain.run`: freeze the steps, send the first with the rest in embed.chain. */
  async applyIn(ctx: ApplyContext, args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): Promise<R> {
    const { group_id, chord, task_id, link, link_error, root_id, parent_id, group_index, ...rest } = { ...this.options, ...options };
    const partial = args.length && !this.immutable ? [...args, ...this.args] : this.args;
    const [tasks, results] = prepareSteps(ctx, partial, kwargs, this.tasks, {
      rootId: root_id as string | null,
      parentId: parent_id as string | null,
      linkError: link_error as Canvas | Canvas[] | undefined,
      lastTaskId: task_id as string | null,
      groupId: group_id as string | null,
      chordBody: chord as Canvas | null,
      groupIndex: group_index as number | null,
      clone: true,
    });
    if (results.length === 0) throw new EmptyCanvasError('an empty chain has nothing to send; give chain() at least one signature');
    for (const callback of maybeList(link as Canvas | Canvas[] | undefined) ?? []) tasks[0].link(callback);
    const first = tasks.pop()!;
    // the steps after this chain (a worker forwarding a nested chain) run after its own ones
    const existing = Array.isArray(rest.chain) ? (rest.chain as unknown[]) : null;
    const result = await first.applyIn(ctx, [], {}, { ...rest, chain: existing ? [...existing, ...tasks] : tasks });
    return (tasks.length ? results[0] : result) as R;
  }
}
registerSubtaskType('chain', Chain.fromDict);

interface PrepareOptions {
  rootId?: string | null;
  parentId?: string | null;
  linkError?: Canvas | Canvas[];
  lastTaskId?: string | null;
  groupId?: string | null;
  chordBody?: Canvas | null;
  groupIndex?: number | null;
  clone: boolean;
}

/**
 * Celery's `prepare_steps`: walk the steps from the last, freeze each (the last one takes the
 * chain's id, group and chord), link each result to the one before it, splice nested chains,
 * and turn `group | next step` into a chord. Returns the steps and results, last step first.
 */
function prepareSteps(ctx: ApplyContext, args: unknown[], kwargs: Record<string, unknown>, steps: Canvas[], o: PrepareOptions): [Canvas[], GroupMember[]] {
  const pending = [...steps];
  const tasks: Canvas[] = [];
  const results: GroupMember[] = [];
  let prevTask: Canvas | null = null;
  let prevRes: ResultNode | null = null;
  let i = 0;
  while (pending.length) {
    let task = maybeUnrollGroup(signatureFromDict(pending.pop()!));
    const isFirstTask = pending.length === 0;
    const isLastTask = i === 0;
    // the chain's partial args go to its first step only
    if (o.clone) task = isFirstTask ? task.clone(args, kwargs) : task.clone();
    else if (isFirstTask) task.args = [...args, ...task.args];
    if (task instanceof Chain) {
      pending.push(...task.tasks);
      continue;
    }
    if (task instanceof Group && prevTask) {
      tasks.pop();
      results.pop();
      const options: WireOptions = prevRes instanceof AsyncResult ? { task_id: prevRes.id, root_id: o.rootId ?? null } : { root_id: o.rootId ?? null };
      task = new Chord(task.tasks, prevTask, options);
    }
    const result = isLastTask
      ? task.freezeIn(ctx, { id: o.lastTaskId, rootId: o.rootId, groupId: o.groupId, chord: o.chordBody, groupIndex: o.groupIndex })
      : task.freezeIn(ctx, { rootId: o.rootId });
    i++;
    if (prevTask && prevRes && !prevRes.parent) prevRes.parent = result;
    for (const errback of maybeList(o.linkError) ?? []) task.linkError(errback);
    tasks.push(task);
    results.push(result);
    prevTask = task;
    prevRes = result;
    if (task instanceof Chord) {
      ensureChordsAllowed(ctx);
      // a chord's result is its body's; the step before links to the header group
      let node: ResultNode = result;
      while (node.parent) node = node.parent;
      prevRes = node;
    }
  }
  return [tasks, results];
}
