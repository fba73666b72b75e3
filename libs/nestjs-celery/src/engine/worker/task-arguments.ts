/**
 * Python's argument binding for tasks that declare their parameter names (`params`): Celery's
 * positional args and kwargs are matched to the parameters as CPython matches a call, and a bad
 * call fails with CPython 3.11's TypeError text.
 */
import { PyTypeError } from '../../protocol/python-errors.js';

/**
 * A task's parameters as a Python `def` lists them: `['x', 'y']`; `'y?'` has a default (it may be
 * left out: the handler gets undefined); `'*args'` takes the extra positionals (an array);
 * `'**kwargs'` the extra keywords (an object). Order: plain names, then `*name`, then `**name`.
 */
export type TaskParams = readonly string[];

/** The name CPython's messages give a task's function: the task name's last dotted part (`tasks.add` → `add`). */
export function pythonFuncName(task: string): string {
  return task.slice(task.lastIndexOf('.') + 1) || task;
}

/** A declaration that is not a valid parameter list. */
export class TaskParamsError extends TypeError {
  constructor(task: string, problem: string) {
    super(`task "${task}": params ${problem}; declare them as a Python def lists them, e.g. ['x', 'y?', '*args', '**kwargs']`);
    this.name = 'TaskParamsError';
  }
}

/** A parsed parameter list (CPython's code object in miniature). */
export class TaskSignature {
  /** the name CPython's messages start with: the task name's last dotted part (`tasks.add` → `add`) */
  readonly funcName: string;
  /** positional-or-keyword parameters, in order */
  readonly names: readonly string[];
  /** how many of them have no default (they come first, as in Python) */
  readonly required: number;
  readonly varArgs?: string;
  readonly varKwargs?: string;
  private readonly index: ReadonlyMap<string, number>;

  constructor(task: string, params: TaskParams) {
    if (!Array.isArray(params)) throw new TaskParamsError(task, 'must be an array of names');
    this.funcName = pythonFuncName(task);
    const names: string[] = [];
    let required = 0;
    let varArgs: string | undefined;
    let varKwargs: string | undefined;
    for (const param of params) {
      if (typeof param !== 'string') throw new TaskParamsError(task, `must be strings, got ${typeof param}`);
      if (varKwargs !== undefined) throw new TaskParamsError(task, `"${param}" comes after "**${varKwargs}", which must be last`);
      const star = param.startsWith('**') ? 2 : param.startsWith('*') ? 1 : 0;
      const optional = star === 0 && param.endsWith('?');
      const name = param.slice(star, optional ? -1 : undefined);
      if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new TaskParamsError(task, `"${param}" is not a parameter name`);
      if (names.includes(name) || name === varArgs) throw new TaskParamsError(task, `name "${name}" twice`);
      if (star === 2) varKwargs = name;
      else if (star === 1) {
        if (varArgs !== undefined) throw new TaskParamsError(task, `has two "*" parameters ("*${varArgs}", "${param}")`);
        varArgs = name;
      } else {
        if (varArgs !== undefined) throw new TaskParamsError(task, `"${param}" comes after "*${varArgs}" (keyword-only parameters are not supported)`);
        if (!optional && required < names.length)
          throw new TaskParamsError(task, `"${param}" has no default but follows one that has ("${names[names.length - 1]}?")`);
        if (!optional) required++;
        names.push(name);
      }
    }
    this.names = names;
    this.required = required;
    this.varArgs = varArgs;
    this.varKwargs = varKwargs;
    this.index = new Map(names.map((n, i) => [n, i]));
  }

  /**
   * Bind a call as CPython does (keywords checked in the order given, then too many positionals,
   * then missing ones). Returns the handler's arguments in declared order: each parameter's
   * value (undefined when left to its default), then the `*` array, then the `**` object.
   */
  bind(args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): unknown[] {
    const n = this.names.length;
    const bound: unknown[] = args.slice(0, n);
    const given = new Array<boolean>(n).fill(false).fill(true, 0, args.length);
    let extra: Record<string, unknown> | undefined;
    for (const key of Object.keys(kwargs)) {
      const at = this.index.get(key);
      if (at === undefined) {
        if (this.varKwargs === undefined) throw new PyTypeError(`${this.funcName}() got an unexpected keyword argument '${key}'`);
        // defineProperty: a '__proto__' keyword is a key like any other, as in Python
        Object.defineProperty((extra ??= {}), key, { value: kwargs[key], enumerable: true, writable: true, configurable: true });
      } else if (given[at]) {
        throw new PyTypeError(`${this.funcName}() got multiple values for argument '${key}'`);
      } else {
        bound[at] = kwargs[key];
        given[at] = true;
      }
    }
    if (args.length > n && this.varArgs === undefined) throw new PyTypeError(this.tooMany(args.length));
    const missing = this.names.slice(0, this.required).filter((_, i) => !given[i]);
    if (missing.length) {
      throw new PyTypeError(
        `${this.funcName}() missing ${missing.length} required positional argument${missing.length === 1 ? '' : 's'}: ${listNames(missing)}`,
      );
    }
    bound.length = n;
    if (this.varArgs !== undefined) bound.push(args.slice(n));
    if (this.varKwargs !== undefined) bound.push(extra ?? {});
    return bound;
  }

  private tooMany(given: number): string {
    const n = this.names.length;
    const takes = this.required < n ? `from ${this.required} to ${n} positional arguments` : `${n} positional argument${n === 1 ? '' : 's'}`;
    return `${this.funcName}() takes ${takes} but ${given} ${given === 1 ? 'was' : 'were'} given`;
  }
}

/** CPython's list of missing names: 'x' · 'x' and 'y' · 'x', 'y', and 'z'. */
function listNames(names: string[]): string {
  const quoted = names.map((n) => `'${n}'`);
  if (quoted.length <= 2) return quoted.join(' and ');
  return `${quoted.slice(0, -1).join(', ')}, and ${quoted[quoted.length - 1]}`;
}
