/** Errors raised by the engines; each says what happened and what to do. */
export class CeleryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** AsyncResult.get() gave up waiting. */
export class CeleryTimeoutError extends CeleryError {
  constructor(readonly taskId: string, readonly timeoutMs: number) {
    super(`task ${taskId} did not reach a ready state within ${timeoutMs} ms (is a worker consuming its queue?)`);
  }
}

/** A result was asked for, but no result backend is configured. */
export class NoResultBackendError extends CeleryError {
  constructor(taskId: string) {
    super(`cannot wait for task ${taskId}: no result backend is configured (set backend: 'redis://…', 'rpc://' or 'memory://')`);
  }
}
