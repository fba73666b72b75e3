/** A promise that gives up after `ms`: monitoring and replies must never hold a worker up. */
export class OperationTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not complete within ${ms} ms (is the broker reachable?)`);
    this.name = 'OperationTimeoutError';
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OperationTimeoutError(what, ms)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
