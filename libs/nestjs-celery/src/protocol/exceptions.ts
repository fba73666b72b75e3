/** Exception (de)serialization as celery/backends/base.py does it for non-pickle serializers. STUB. */

export interface ExceptionInfo {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string | null;
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
    super(`${excType}(${excMessage.map((m) => JSON.stringify(m)).join(', ')})`);
    this.name = 'CeleryTaskError';
  }
}

/** JS error → {exc_type, exc_message, exc_module}. */
export function serializeException(error: unknown): ExceptionInfo {
  const e = error instanceof Error ? error : new Error(String(error));
  return { exc_type: e.name, exc_message: [e.message], exc_module: 'builtins' };
}

/** A Python-looking traceback text for a JS error (ends with `ExcType: message`). */
export function formatTraceback(error: unknown): string {
  return error instanceof Error ? (error.stack ?? String(error)) : String(error);
}

/** A stored exception result (+ traceback) → CeleryTaskError. */
export function exceptionFromResult(result: unknown, traceback: string | null, taskId?: string, state = 'FAILURE'): CeleryTaskError {
  const r = (result ?? {}) as Partial<ExceptionInfo>;
  return new CeleryTaskError(r.exc_type ?? 'Exception', r.exc_module ?? null, Array.isArray(r.exc_message) ? r.exc_message : [r.exc_message], traceback, taskId, state);
}
