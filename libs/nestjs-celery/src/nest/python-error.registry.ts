/** Any error class, abstract ones included. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => Error;

/**
 * One mapping of a JS error class to a Python exception: `'billing.errors.InsufficientFunds'`
 * (module + type), or a bare name like `'LookupError'` for a Python builtin.
 */
export type CeleryErrorMapping = readonly [errorClass: ErrorClass, pythonName: string];

interface PythonName {
  excType: string;
  excModule: string;
}

function parsePythonName(name: string): PythonName {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) {
    if (!/^[A-Za-z_]\w*$/.test(name))
      throw new Error(`invalid Python exception name "${name}" in the errors option: use "package.module.ClassName" or a builtin like "LookupError"`);
    return { excType: name, excModule: 'builtins' };
  }
  return { excType: name.slice(dot + 1), excModule: name.slice(0, dot) };
}

/**
 * Maps your error classes to Python exception names, so a failure reaches a Python client as
 * that exception. It annotates the thrown error with `excType`/`excModule`, which
 * protocol/exceptions.ts `serializeException` reads; errors that already carry an `excType`
 * (python-errors.ts classes) are left alone. The closest mapped class in the error's
 * prototype chain wins, so a subclass mapping beats its base class's.
 */
export class PythonErrorRegistry {
  private readonly names = new Map<ErrorClass, PythonName>();

  constructor(mappings: readonly CeleryErrorMapping[] = []) {
    for (const [errorClass, name] of mappings) this.names.set(errorClass, parsePythonName(name));
  }

  get size(): number {
    return this.names.size;
  }

  /** The error as it should reach the engine (the same object, annotated when mapped). */
  prepare(error: unknown): unknown {
    if (!(error instanceof Error) || this.names.size === 0 || hasExcType(error)) return error;
    for (
      let proto = Object.getPrototypeOf(error) as object | null;
      proto && proto !== Object.prototype;
      proto = Object.getPrototypeOf(proto) as object | null
    ) {
      const mapped = this.names.get(proto.constructor as ErrorClass);
      if (mapped) {
        Object.defineProperty(error, 'excType', { value: mapped.excType, configurable: true, enumerable: false });
        Object.defineProperty(error, 'excModule', { value: mapped.excModule, configurable: true, enumerable: false });
        return error;
      }
    }
    return error;
  }
}

function hasExcType(error: Error): boolean {
  const own = (error as { excType?: unknown }).excType;
  const ctor = (error.constructor as { excType?: unknown } | undefined)?.excType;
  return typeof own === 'string' || typeof ctor === 'string';
}
