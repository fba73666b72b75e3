/**
 * Celery's `group` (celery/canvas.py): members sent in parallel with header `group=<gid>`;
 * `group_index` only when the group was frozen first (chord headers, groups inside chains).
 */
import { randomUUID } from 'node:crypto';
import type { SignatureDict } from '../../protocol/signature.js';
import type { ApplyContext } from './apply-context.js';
import { Canvas, TaskListCanvas, registerSubtaskType, type FreezeOptions } from './canvas.js';
import { GroupResult, type GroupMember } from './group-result.js';
import type { WireOptions } from './options.js';

/** Celery's `group`: tasks run in parallel, their results collected in a GroupResult; build with `group(...)`. */
export class Group extends TaskListCanvas<GroupResult> {
  readonly subtaskType = 'group';

  constructor(tasks: Canvas[], options: WireOptions = {}, args: unknown[] = [], immutable = false) {
    super('celery.group', tasks, options, args, immutable);
  }

  /** A group from its wire dict (`subtask_type: 'group'`), as Celery's `group.from_dict`. */
  static fromDict(this: void, d: SignatureDict): Group {
    return new Group(TaskListCanvas.tasksOf(d), { ...(d.options ?? {}) });
  }

  protected rebuild(tasks: Canvas[], options: WireOptions, args: unknown[]): this {
    return new Group(tasks, options, args, this.immutable) as this;
  }

  /** Celery: a group's immutability is its members'. */
  override setImmutable(immutable: boolean): this {
    for (const t of this.tasks) t.setImmutable(immutable);
    return this;
  }

  /**
   * Celery links a group's callback to its first member only, made immutable: it runs when that
   * member succeeds, without the others' results. Use a chord to wait for all.
   */
  override link(callback: Canvas): this {
    this.tasks[0]?.link(callback.clone().setImmutable(true));
    return this;
  }

  /** Every member gets the errback (it may run once per failed member). */
  override linkError(errback: Canvas): this {
    for (const t of this.tasks) t.linkError(errback);
    return this;
  }

  freezeIn(ctx: ApplyContext, options: FreezeOptions = {}): GroupResult {
    const [gid, results] = this.freezeGroupTasks(ctx, options);
    return new GroupResult(gid, results, ctx.app.backend);
  }

  /**
   * Celery's `_freeze_group_tasks`: the group's id is options.task_id; members (nested groups
   * flattened) are frozen with the given group id, chord and their index. Celery passes the
   * `group_id` argument (not the group's own id), so a group frozen inside a chain or a chord
   * gets its members' group_id only when it is applied.
   */
  freezeGroupTasks(ctx: ApplyContext, { groupId, chord, rootId, parentId, groupIndex }: FreezeOptions): [string, GroupMember[]] {
    const opts = this.options;
    if (typeof opts.task_id !== 'string') opts.task_id = groupId || randomUUID();
    if (groupId) opts.group_id = groupId;
    if (chord) opts.chord = chord;
    if (groupIndex !== null && groupIndex !== undefined) opts.group_index = groupIndex;
    // setdefault: Celery stores the keys even when null
    if (!('root_id' in opts)) opts.root_id = rootId ?? null;
    if (!('parent_id' in opts)) opts.parent_id = parentId ?? null;
    const root = opts.root_id as string | null;
    const parent = opts.parent_id as string | null;
    const frozen: Canvas[] = [];
    const results: GroupMember[] = [];
    const stack = [...this.tasks];
    while (stack.length) {
      const task = stack.shift()!.clone();
      // deque.extendleft: a nested group's members come first, in reverse order
      if (task instanceof Group) stack.unshift(...[...task.tasks].reverse());
      else {
        frozen.push(task);
        results.push(task.freezeIn(ctx, { groupId, chord, rootId: root, parentId: parent, groupIndex: results.length }));
      }
    }
    this.tasks = frozen;
    return [opts.task_id as string, results];
  }

  async applyIn(ctx: ApplyContext, args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): Promise<GroupResult> {
    // Celery's group.apply_async passes its options on unfiltered (members drop None themselves)
    const given = options;
    if (given.link !== undefined && given.link !== null) throw new TypeError('Cannot add link to group: use a chord');
    if (given.link_error !== undefined && given.link_error !== null) throw new TypeError('Cannot add link to group: do that on individual tasks');
    if (this.tasks.length === 0) return this.freezeIn(ctx);
    // _freeze_gid: the group's task_id is its id, and each member's group
    const { task_id: taskId, add_to_parent: addToParent, chord, ...opts } = { ...this.options, ...given };
    const groupId = typeof taskId === 'string' ? taskId : randomUUID();
    opts.group_id = groupId;
    const members = prepareMembers(ctx, this.tasks, groupId, (opts.root_id as string | null | undefined) ?? null);
    const chords = members.map(([sig]) => (chord ?? sig.options.chord) as Canvas | undefined);
    if (chords.some(Boolean)) {
      // Celery sets the size just before the last header task; before the first is as good and
      // leaves no window in which every part could finish without a size to compare with
      await ctx.app.backend?.chord?.setSize(
        groupId,
        members.reduce((n, [sig]) => n + chordSize(sig), 0),
      );
    }
    const results: GroupMember[] = [];
    for (const [i, [sig, result]] of members.entries()) {
      await sig.applyIn(ctx, args, kwargs, { ...opts, add_to_parent: false, chord: chords[i] ?? null });
      results.push(result);
    }
    const group = new GroupResult(groupId, results, ctx.app.backend);
    if (addToParent !== false) ctx.trail?.push(group);
    return group;
  }
}
registerSubtaskType('group', Group.fromDict);

/** Celery's `group._prepared`: members cloned (nested groups unrolled) and frozen into the group. */
function prepareMembers(ctx: ApplyContext, tasks: Canvas[], groupId: string, rootId: string | null): [Canvas, GroupMember][] {
  const out: [Canvas, GroupMember][] = [];
  for (const t of tasks) {
    const task = t.clone();
    if (task instanceof Group) out.push(...prepareMembers(ctx, task.tasks, groupId, rootId));
    else out.push([task, task.freezeIn(ctx, { groupId, rootId })]);
  }
  return out;
}

/**
 * How many parts a header member adds to a chord (Celery's `_chord._descend`): a task 1, a group
 * the sum of its members, a chain its last non-empty step, a chord its body.
 */
export function chordSize(sig: Canvas): number {
  const composite = sig as Canvas & { tasks?: Canvas[] | Group; body?: Canvas | null };
  switch (sig.subtaskType) {
    case 'group':
      return (composite.tasks as Canvas[]).reduce((n, t) => n + chordSize(t), 0);
    case 'chain':
      for (const step of [...(composite.tasks as Canvas[])].reverse()) {
        const size = chordSize(step);
        if (size > 0) return size;
      }
      return 0;
    case 'chord':
      return composite.body ? chordSize(composite.body) : 0;
    default:
      return 1;
  }
}

/** Celery's `maybe_unroll_group`: a group of one is that one task. */
export function maybeUnrollGroup(task: Canvas): Canvas {
  return task instanceof Group && task.tasks.length === 1 ? task.tasks[0] : task;
}

/** `group(a, b, c)` or `group([a, b, c])`: run members in parallel; resolves a GroupResult. */
export function group(...tasks: (Canvas | Canvas[])[]): Group {
  const list = tasks.length === 1 && Array.isArray(tasks[0]) ? tasks[0] : (tasks as Canvas[]);
  if (list.length === 1 && list[0] instanceof Group) return new Group([...list[0].tasks]);
  return new Group([...list]);
}
