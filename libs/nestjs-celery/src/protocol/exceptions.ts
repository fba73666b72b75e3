/**
 * Exception (de)serialization as celery/backends/base.py does it for non-pickle serializers
 * (`prepare_exception` / `exception_to_python`).
 *
 * JS errors map to Python exception types as follows:
 * - an error carrying `excType` (own property or static on its class, e.g. the classes in
 *   python-errors.ts) is sent as exactly that type, with `args` as exc_message when it has them;
 * - `Error` becomes `builtins.Exception`, and `RangeError` becomes `builtins.ValueError` (a value
 *   outside the allowed range is what Python calls a ValueError);
 * - any other name Python has as a builtin exception (TypeError, SyntaxError, ReferenceError,
 *   TimeoutError, ...) goes to `builtins`;
 * - everything else keeps its JS name under JS_EXCEPTION_MODULE, a module Python never has
 *   loaded, so Celery builds an Exception subclass with that name.
 */
import { dumps } from './json.js';
import { pyRepr, saferepr } from './repr.js';
import { PYTHON_BUILTIN_EXCEPTIONS, pythonExceptionStr } from './python-errors.js';

/** A task's exception as Celery stores it in a FAILURE result (`exc_type`, `exc_message`, `exc_module`). */
export interface ExceptionInfo {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string | null;
}

/** exc_module for JS-only error types: never present in Python's sys.modules. */
export const JS_EXCEPTION_MODULE = 'nestjs_celery.js';

/** Modules whose name Python leaves out of a traceback's last line. */
const UNQUALIFIED_MODULES: ReadonlySet<string | null> = new Set([null, 'builtins', '__main__', JS_EXCEPTION_MODULE]);

/** `ValueError` or `celery.exceptions.NotRegistered`, as the last line of a Python traceback names it. */
function qualifiedType(excType: string, excModule: string | null): string {
  return UNQUALIFIED_MODULES.has(excModule) ? excType : `${excModule}.${excType}`;
}

/** The last line of a Python traceback: `ValueError: custom`, or just `RuntimeError` without args. */
function exceptionLine(info: ExceptionInfo): string {
  const str = pythonExceptionStr(info.exc_type, info.exc_message);
  const type = qualifiedType(info.exc_type, info.exc_module);
  return str ? `${type}: ${str}` : type;
}

/** A failure seen by a client: carries Celery's exception fields and the remote traceback. */
export class CeleryTaskError extends Error {
  constructor(
    readonly excType: string,
    readonly excModule: string | null,
    readonly excMessage: unknown[],
    readonly traceback: string | null,
    readonly taskId?: string,
    readonly state: string = 'FAILURE',
  ) {
    // reads like the last line of the Python traceback: `ValueError: custom`
    super(exceptionLine({ exc_type: excType, exc_message: excMessage, exc_module: excModule }));
    this.name = 'CeleryTaskError';
  }
}

const JS_TO_PYTHON: Readonly<Record<string, string>> = {
  Error: 'Exception',
  RangeError: 'ValueError',
};

interface PythonTyped {
  excType?: unknown;
  excModule?: unknown;
  args?: unknown;
}

/** An exc_message item: kept when JSON can carry it, else its repr (celery's ensure_serializable). */
function serializableArg(arg: unknown): unknown {
  if (arg === undefined) return null;
  if (typeof arg === 'function' || typeof arg === 'symbol') return pyRepr(arg);
  try {
    dumps(arg);
    return arg;
  } catch {
    return pyRepr(arg);
  }
}

/** exc_message: a Python-typed error's own args, else the JS message (none when empty). */
function messageArgs(error: Error & PythonTyped, typed: boolean): unknown[] {
  if (typed && Array.isArray(error.args)) return error.args;
  return error.message ? [error.message] : [];
}

/** Error class name: `error.name`, or the constructor's name when a subclass left name as 'Error'. */
function jsName(error: Error): string {
  const ctorName = (error.constructor as { name?: unknown } | undefined)?.name;
  if (error.name === 'Error' && typeof ctorName === 'string' && ctorName && ctorName !== 'Error') return ctorName;
  return error.name || 'Error';
}

function pythonTyped(error: object): { excType: string; excModule: string | null | undefined } | undefined {
  const own = error as PythonTyped;
  const ctor = (error.constructor ?? {}) as PythonTyped;
  const excType = typeof own.excType === 'string' ? own.excType : typeof ctor.excType === 'string' ? ctor.excType : undefined;
  if (!excType) return undefined;
  const module = own.excModule !== undefined ? own.excModule : ctor.excModule;
  return { excType, excModule: typeof module === 'string' || module === null ? module : undefined };
}

/** JS error → {exc_type, exc_message, exc_module}. */
export function serializeException(error: unknown): ExceptionInfo {
  if (!(error instanceof Error)) {
    // `throw 'text'` or `throw {…}`: Python can only raise exceptions, so it becomes Exception(value)
    const typed = error !== null && typeof error === 'object' ? pythonTyped(error) : undefined;
    if (typed) {
      const args = (error as PythonTyped).args;
      return {
        exc_type: typed.excType,
        exc_message: (Array.isArray(args) ? args : []).map(serializableArg),
        exc_module: typed.excModule === undefined ? moduleFor(typed.excType) : typed.excModule,
      };
    }
    return { exc_type: 'Exception', exc_message: error === undefined ? [] : [serializableArg(error)], exc_module: 'builtins' };
  }
  const typed = pythonTyped(error);
  if (typed) {
    return {
      exc_type: typed.excType,
      exc_message: messageArgs(error, true).map(serializableArg),
      exc_module: typed.excModule === undefined ? moduleFor(typed.excType) : typed.excModule,
    };
  }
  const name = jsName(error);
  const excType = JS_TO_PYTHON[name] ?? name;
  return { exc_type: excType, exc_message: messageArgs(error, false).map(serializableArg), exc_module: moduleFor(excType) };
}

function moduleFor(excType: string): string {
  return PYTHON_BUILTIN_EXCEPTIONS.has(excType) ? 'builtins' : JS_EXCEPTION_MODULE;
}

// ------------------------------------------------------------------ traceback text

interface Frame {
  file: string;
  line: string;
  fn: string;
}

// `    at fn (file:line:col)`, `    at file:line:col`, `    at async fn (…)`, `    at new Foo (…)`
const FRAME_WITH_FN = /^\s*at (?:async )?(.*?) \((.*?)(?::(\d+))?(?::\d+)?\)$/;
const FRAME_BARE = /^\s*at (?:async )?(.*?)(?::(\d+))?(?::\d+)?$/;

function parseFrame(line: string): Frame | undefined {
  let m = FRAME_WITH_FN.exec(line);
  if (m) return { fn: m[1] || '<anonymous>', file: stripFileUrl(m[2]), line: m[3] ?? '0' };
  m = FRAME_BARE.exec(line);
  if (m) return { fn: '<module>', file: stripFileUrl(m[1]), line: m[2] ?? '0' };
  return undefined;
}

function stripFileUrl(location: string): string {
  return location.startsWith('file://') ? location.slice('file://'.length) : location;
}

function frameLines(error: Error): string[] {
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .map(parseFrame)
    .filter((f): f is Frame => f !== undefined);
  // V8 lists the newest frame first; Python lists it last
  return frames.reverse().map((f) => `  File "${f.file}", line ${f.line}, in ${f.fn}`);
}

function formatOne(error: unknown): string {
  const lines = ['Traceback (most recent call last):'];
  if (error instanceof Error) lines.push(...frameLines(error));
  lines.push(exceptionLine(serializeException(error)));
  return lines.join('\n') + '\n';
}

/** A Python-looking traceback text for a JS error (ends with `ExcType: message`). */
export function formatTraceback(error: unknown): string {
  // causes first, like Python's "The above exception was the direct cause of ..."
  const chain: unknown[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = error; e !== undefined && e !== null && !seen.has(e);) {
    seen.add(e);
    chain.unshift(e);
    e = e instanceof Error ? e.cause : undefined;
  }
  return chain.map(formatOne).join('\nThe above exception was the direct cause of the following exception:\n\n');
}

// ------------------------------------------------------------------ reading results

/** A non-exception result for an error message: JSON, or saferepr when JSON cannot carry it; at most 1,024 characters. */
function describeValue(result: unknown): string {
  let text: string;
  try {
    text = dumps(result);
  } catch {
    // a cycle, or nesting deeper than the stack (a stored result can be anything)
    text = saferepr(result, 1024);
  }
  return text.length > 1024 ? `${text.slice(0, 1024)}…` : text;
}

/**
 * A stored exception result (+ traceback) → CeleryTaskError. Tolerates what Celery 5.2 itself
 * chokes on: a null result (a RETRY without exc), a dict without exc_type, a plain string.
 */
export function exceptionFromResult(result: unknown, traceback: string | null, taskId?: string, state = 'FAILURE'): CeleryTaskError {
  if (result !== null && typeof result === 'object' && !Array.isArray(result)) {
    const r = result as Partial<Record<keyof ExceptionInfo, unknown>>;
    if (typeof r.exc_type === 'string' && r.exc_type) {
      // exception_to_python: cls(*msg) for a list, cls(msg) otherwise; a missing message is ''
      const message = r.exc_message === undefined ? '' : r.exc_message;
      const args = Array.isArray(message) ? message : [message];
      const module = typeof r.exc_module === 'string' ? r.exc_module : null;
      return new CeleryTaskError(r.exc_type, module, args, traceback, taskId, state);
    }
  }
  const what =
    result === null || result === undefined
      ? `task ${taskId ?? '(unknown id)'} ended in ${state} without exception information`
      : typeof result === 'string'
        ? result
        : `task ${taskId ?? '(unknown id)'} ended in ${state} with a result that is not an exception: ${describeValue(result)}`;
  return new CeleryTaskError('Exception', null, [what], traceback, taskId, state);
}
