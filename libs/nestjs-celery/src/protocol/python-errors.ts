/**
 * Errors a JS task handler can throw so that Python sees a real Python exception.
 *
 * `serializeException` writes `{exc_type, exc_message: args, exc_module}`; Celery's reader
 * (celery/backends/base.py exception_to_python) looks `exc_module` up in `sys.modules`, walks
 * `exc_type`, and calls `cls(*exc_message)`. So `throw new ValueError('custom')` in a handler
 * becomes `ValueError('custom')` in the Python client, `except ValueError:` included.
 *
 * For an exception of your own Python package, subclass PythonError with static `excType` and
 * `excModule`, or use `pythonError('PaymentDeclined', ['card'], 'shop.errors')`. If the client
 * has that module loaded it gets the real class; otherwise Celery builds a subclass of
 * Exception with that name.
 */
import { pyTuple } from './py-values.js';
import { pyStr, pythonRepr } from './python-repr.js';

/** Names of the exception classes in Python 3's `builtins` module. */
export const PYTHON_BUILTIN_EXCEPTIONS: ReadonlySet<string> = new Set([
  'ArithmeticError', 'AssertionError', 'AttributeError', 'BaseException', 'BaseExceptionGroup',
  'BlockingIOError', 'BrokenPipeError', 'BufferError', 'BytesWarning', 'ChildProcessError',
  'ConnectionAbortedError', 'ConnectionError', 'ConnectionRefusedError', 'ConnectionResetError',
  'DeprecationWarning', 'EOFError', 'EncodingWarning', 'EnvironmentError', 'Exception', 'ExceptionGroup',
  'FileExistsError', 'FileNotFoundError', 'FloatingPointError', 'FutureWarning', 'GeneratorExit',
  'IOError', 'ImportError', 'ImportWarning', 'IndentationError', 'IndexError', 'InterruptedError',
  'IsADirectoryError', 'KeyError', 'KeyboardInterrupt', 'LookupError', 'MemoryError',
  'ModuleNotFoundError', 'NameError', 'NotADirectoryError', 'NotImplementedError', 'OSError',
  'OverflowError', 'PendingDeprecationWarning', 'PermissionError', 'ProcessLookupError',
  'RecursionError', 'ReferenceError', 'ResourceWarning', 'RuntimeError', 'RuntimeWarning',
  'StopAsyncIteration', 'StopIteration', 'SyntaxError', 'SyntaxWarning', 'SystemError', 'SystemExit',
  'TabError', 'TimeoutError', 'TypeError', 'UnboundLocalError', 'UnicodeDecodeError',
  'UnicodeEncodeError', 'UnicodeError', 'UnicodeTranslateError', 'UnicodeWarning', 'UserWarning',
  'ValueError', 'Warning', 'ZeroDivisionError',
]); // prettier-ignore

/** Exception types whose str() is the repr of their single argument (KeyError and subclasses). */
const REPR_STR_TYPES: ReadonlySet<string> = new Set(['KeyError', 'NotRegistered', 'QueueNotFound']);

/** Python's `str(exc)` for an exception of `excType` built with `args`. */
export function pythonExceptionStr(excType: string, args: readonly unknown[]): string {
  if (args.length === 0) return '';
  if (args.length === 1) return REPR_STR_TYPES.has(excType) ? pythonRepr(args[0]) : pyStr(args[0]);
  return pythonRepr(pyTuple([...args]));
}

/** An error that travels as a Python exception: `excType`/`excModule` plus Python-style `args`. */
export class PythonError extends Error {
  static readonly excType: string = 'Exception';
  static readonly excModule: string | null = 'builtins';

  /** the exception's args, sent as exc_message */
  readonly args: unknown[];

  constructor(...args: unknown[]) {
    const type = new.target.excType;
    super(pythonExceptionStr(type, args));
    this.args = args;
    this.name = type;
  }

  get excType(): string {
    return this.name;
  }

  get excModule(): string | null {
    return (this.constructor as typeof PythonError).excModule;
  }
}

/** A Python exception of any type, e.g. `pythonError('PaymentDeclined', ['card'], 'shop.errors')`. */
export function pythonError(excType: string, args: unknown[] = [], excModule: string | null = 'builtins'): PythonError {
  const error = new PythonError(...args);
  error.name = excType;
  error.message = pythonExceptionStr(excType, args);
  Object.defineProperty(error, 'excModule', { value: excModule, enumerable: false });
  return error;
}

// builtins -------------------------------------------------------------------------------
export class ValueError extends PythonError {
  static override readonly excType: string = 'ValueError';
}
export class KeyError extends PythonError {
  static override readonly excType: string = 'KeyError';
}
export class IndexError extends PythonError {
  static override readonly excType: string = 'IndexError';
}
/** Python's TypeError (named so it does not shadow the JS global). */
export class PyTypeError extends PythonError {
  static override readonly excType: string = 'TypeError';
}
export class AttributeError extends PythonError {
  static override readonly excType: string = 'AttributeError';
}
export class LookupError extends PythonError {
  static override readonly excType: string = 'LookupError';
}
export class ArithmeticError extends PythonError {
  static override readonly excType: string = 'ArithmeticError';
}
export class ZeroDivisionError extends PythonError {
  static override readonly excType: string = 'ZeroDivisionError';
}
export class OverflowError extends PythonError {
  static override readonly excType: string = 'OverflowError';
}
export class RuntimeError extends PythonError {
  static override readonly excType: string = 'RuntimeError';
}
export class NotImplementedError extends PythonError {
  static override readonly excType: string = 'NotImplementedError';
}
export class AssertionError extends PythonError {
  static override readonly excType: string = 'AssertionError';
}
export class PermissionError extends PythonError {
  static override readonly excType: string = 'PermissionError';
}
export class FileNotFoundError extends PythonError {
  static override readonly excType: string = 'FileNotFoundError';
}
export class ConnectionError extends PythonError {
  static override readonly excType: string = 'ConnectionError';
}
export class TimeoutError extends PythonError {
  static override readonly excType: string = 'TimeoutError';
}
export class OSError extends PythonError {
  static override readonly excType: string = 'OSError';
}

// Celery / billiard exceptions a worker stores (celery/exceptions.py, billiard/exceptions.py) ---
export class TaskRevokedError extends PythonError {
  static override readonly excType: string = 'TaskRevokedError';
  static override readonly excModule: string | null = 'celery.exceptions';
}
export class NotRegistered extends PythonError {
  static override readonly excType: string = 'NotRegistered';
  static override readonly excModule: string | null = 'celery.exceptions';
}
export class MaxRetriesExceededError extends PythonError {
  static override readonly excType: string = 'MaxRetriesExceededError';
  static override readonly excModule: string | null = 'celery.exceptions';
}
export class ChordError extends PythonError {
  static override readonly excType: string = 'ChordError';
  static override readonly excModule: string | null = 'celery.exceptions';
}
export class TimeLimitExceeded extends PythonError {
  static override readonly excType: string = 'TimeLimitExceeded';
  static override readonly excModule: string | null = 'billiard.exceptions';
}
export class SoftTimeLimitExceeded extends PythonError {
  static override readonly excType: string = 'SoftTimeLimitExceeded';
  static override readonly excModule: string | null = 'billiard.exceptions';
}
export class WorkerLostError extends PythonError {
  static override readonly excType: string = 'WorkerLostError';
  static override readonly excModule: string | null = 'billiard.exceptions';
}
