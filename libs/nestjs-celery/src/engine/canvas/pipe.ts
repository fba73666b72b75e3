/**
 * Celery's `|` operator (celery/canvas.py `__or__` of Signature, _chain, group and _chord) and
 * `chain(...)`, which Celery builds by folding `|` over its arguments: so `chain(group, task)` is
 * a chord and `chain(a, group)` ends with a group, exactly as in Python.
 */
import { registerPipe, type Canvas, type CanvasResult, type ResultOf } from './canvas.js';
import { Chain } from './chain.js';
import { Chord } from './chord.js';
import { Group, maybeUnrollGroup } from './group.js';

/** `left | right` as Celery composes it. */
export function pipe(left: Canvas, right: Canvas): Canvas {
  if (left instanceof Chain) {
    if (right instanceof Group) {
      const unrolled = maybeUnrollGroup(right);
      const tasks = left.unchainTasks();
      return tasks.length ? new Chain([...tasks, unrolled]) : unrolled;
    }
    if (right instanceof Chain) return new Chain([...left.unchainTasks(), ...right.unchainTasks()]);
    const last = left.tasks[left.tasks.length - 1];
    if (last instanceof Group || last instanceof Chord) {
      const copy = left.clone();
      const i = copy.tasks.length - 1;
      const tail = copy.tasks[i];
      // chain ending in a group | task → the group becomes a chord; ending in a chord → its body grows
      if (tail instanceof Group) copy.tasks[i] = new Chord(tail, right);
      else if (tail instanceof Chord && tail.body) tail.body = pipe(tail.body, right);
      return copy;
    }
    return new Chain([...left.unchainTasks(), right]);
  }
  if (left instanceof Group) return new Chord(left, right);
  if (left instanceof Chord && left.body && !(right instanceof Group) && !(right instanceof Chain)) {
    const copy = left.clone();
    copy.body = pipe(copy.body!, right);
    return copy;
  }
  if (right instanceof Chain) return new Chain([left, ...right.unchainTasks()]);
  if (right instanceof Group) return new Chain([left, maybeUnrollGroup(right)]);
  return new Chain([left, right]);
}
registerPipe(pipe);

/**
 * `chain(a, b, c)` or `chain([a, b, c])`: each step gets the previous step's result as its first
 * argument (unless immutable, `si`). Resolves to the last step's result; `.parent` leads back.
 */
export function chain<L extends Canvas<CanvasResult>>(...tasks: [...Canvas[], L]): Canvas<ResultOf<L>>;
export function chain(tasks: Canvas[]): Canvas;
export function chain(...tasks: (Canvas | Canvas[])[]): Canvas {
  // Celery: one signature is a chain of one; a list or several are folded with `|` from an empty chain
  if (tasks.length === 1 && !Array.isArray(tasks[0])) return new Chain([tasks[0]]);
  const list = tasks.length === 1 ? (tasks[0] as Canvas[]) : (tasks as Canvas[]);
  return list.reduce<Canvas>((acc, task) => pipe(acc, task), new Chain([]));
}
