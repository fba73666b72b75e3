/** Errors raised by the RabbitMQ broker; each says what happened and what to do. */
export class AmqpBrokerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The broker URL or options cannot work. */
export class AmqpConfigError extends AmqpBrokerError {}

/** None of the broker URLs accepted a connection. */
export class AmqpConnectionError extends AmqpBrokerError {}

/** The broker was closed (close() was called) while the operation waited or ran. */
export class AmqpBrokerClosedError extends AmqpBrokerError {}

/**
 * RabbitMQ refused a declaration, typically PRECONDITION_FAILED because the queue or exchange
 * already exists with other properties (durable, auto_delete, x-max-priority …).
 */
export class AmqpDeclarationError extends AmqpBrokerError {
  constructor(
    message: string,
    readonly replyCode: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A publish did not get the broker's positive confirm: it was nacked, its channel or
 * connection went away before the confirm (the message may or may not have been enqueued),
 * or the channel was closed by the server (e.g. the exchange does not exist).
 */
export class AmqpPublishError extends AmqpBrokerError {}

/** A `mandatory` publish that no queue was bound to receive; RabbitMQ returned it. */
export class UnroutableMessageError extends AmqpPublishError {
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    readonly replyCode: number,
    readonly replyText: string,
  ) {
    super(
      `RabbitMQ returned the message published to exchange '${exchange}' with routing key '${routingKey}' ` +
        `(${replyCode} ${replyText}): no queue is bound for it; declare the queue (and its binding) before publishing`,
    );
  }
}

/** A header value that cannot be written into an AMQP field table. */
export class AmqpHeaderError extends AmqpBrokerError {}
