/** Typed errors of the result backends (transport/redis/backend/redis.backend.ts, transport/rpc/rpc.backend.ts). */
export class ResultBackendError extends Error {
  constructor(
    message: string,
    readonly taskId?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A state could not be written (Celery's BackendStoreError). */
export class BackendStoreError extends ResultBackendError {}

/** The backend was closed while a caller still waited on it. */
export class BackendClosedError extends ResultBackendError {}

/** Subscribing to a task's result channel failed (connection lost for good, or refused). */
export class ResultSubscribeError extends ResultBackendError {}
