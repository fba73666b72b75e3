/** Errors raised by the engines; each says what happened and what to do. */
export class CeleryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** AsyncResult.get() gave up waiting. */
export class CeleryTimeoutError extends CeleryError {
  constructor(
    readonly taskId: string,
    readonly timeoutMs: number,
  ) {
    super(`task ${taskId} did not reach a ready state within ${timeoutMs} ms (is a worker consuming its queue?)`);
  }
}

/** A result was asked for, but no result backend is configured. */
export class NoResultBackendError extends CeleryError {
  constructor(taskId: string) {
    super(`cannot wait for task ${taskId}: no result backend is configured (set backend: 'redis://…', 'rpc://' or 'memory://')`);
  }
}

/** The broker is disconnected and publishing was set to fail fast, or the outage buffer is full. */
export class BrokerUnavailableError extends CeleryError {
  constructor(taskName: string, reason: string) {
    super(`cannot send task ${taskName}: ${reason}`);
  }
}

/** Declaring one more queue would pass `maxDeclaredQueues` (queue names can come from messages: canvas options). */
export class DeclarationLimitError extends CeleryError {
  constructor(
    readonly queue: string,
    limit: number,
  ) {
    super(
      `not declaring queue ${JSON.stringify(queue.slice(0, 255))}: this app has declared ${limit} queues already (maxDeclaredQueues); ` +
        'raise the limit if that many queues are expected, or route to existing ones',
    );
  }
}

/**
 * The broker did not confirm a publish in time. `mayHaveBeenSent` false: it was still held
 * (broker down or blocking publishes) and is never sent now; true: it was written, and the
 * broker may still queue it.
 */
export class PublishTimeoutError extends CeleryError {
  constructor(
    readonly taskId: string,
    timeoutMs: number,
    readonly mayHaveBeenSent = true,
  ) {
    super(
      mayHaveBeenSent
        ? `task ${taskId} was written but not confirmed by the broker within ${timeoutMs} ms; it may still be queued (the broker can confirm it later)`
        : `task ${taskId} was not sent within ${timeoutMs} ms (broker down or blocking publishes); it was dropped and will not be sent`,
    );
  }
}

/**
 * The broker is applying backpressure: `maxPendingPublishes` publishes are already waiting
 * for its confirm (blocked, disconnected or slow). The task was not sent.
 */
export class PublishBackpressureError extends CeleryError {
  constructor(
    readonly taskName: string,
    limit: number,
    state: string,
  ) {
    super(
      `cannot send task ${taskName}: the broker is applying backpressure (${state}) and ${limit} publishes already await its confirm (maxPendingPublishes); not sent`,
    );
  }
}

/** sendTask/send/emit got an option it does not know (a typo, or Celery's snake_case name). */
export class InvalidTaskOptionsError extends CeleryError {
  constructor(message: string) {
    super(message);
  }
}

/** Settings that cannot work together (Celery's ImproperlyConfigured). */
export class ImproperlyConfiguredError extends CeleryError {}

/**
 * A queue or exchange exists on the broker with other properties than our settings declare
 * (RabbitMQ 406 PRECONDITION_FAILED): names both sides and the setting to change.
 */
export class QueueMismatchError extends CeleryError {
  constructor(
    readonly queue: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The broker or the result backend could not be reached at startup within brokerConnectionMaxRetries. */
export class BrokerConnectionError extends CeleryError {}
