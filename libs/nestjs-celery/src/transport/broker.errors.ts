/** Broker errors the engine acts on, whatever the broker: raised by every transport alike. */

/**
 * The queue is exclusive to another connection (RabbitMQ 405 RESOURCE_LOCKED), e.g. a worker
 * under the same node name that just died and whose connection the broker has not closed yet.
 */
export class QueueInUseError extends Error {
  constructor(
    readonly queue: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'QueueInUseError';
  }
}
