/**
 * Publishing on one confirm channel: every publish resolves on the broker's ack and rejects on
 * a nack, a return (mandatory publishes), or the channel going away. Confirms are pipelined:
 * nothing waits for the previous message.
 *
 * With `confirmPublish: false` (Celery's default, `broker_transport_options` `confirm_publish`)
 * publishes go on a second, plain channel, as kombu's do, and resolve once the message is
 * written to the connection (after a 'drain' when the socket pushes back). Not in confirm mode:
 * RabbitMQ holds a persistent message published in confirm mode back from a waiting consumer
 * (~0.8 ms here, a third of a round trip), and nobody waits for that confirm. A channel RabbitMQ
 * closes under such publishes (e.g. a missing exchange) is logged as a possible loss; mandatory
 * publishes keep the confirm channel and wait for their confirm, as a return can only be
 * matched before it.
 */
import type { Channel, ConfirmChannel, Message } from 'amqplib';
import type { CeleryLogger } from '../../common/logger.js';
import type { PublishRoute } from '../broker.interface.js';
import type { TransportMessage } from '../../protocol/transport-message.js';
import { AmqpPublishError, UnroutableMessageError } from './amqp-errors.js';
import { toPublishOptions } from './amqp-message.js';

/** A mandatory publish awaiting its confirm; a basic.return for it arrives before the ack. */
interface InFlightMandatory {
  route: PublishRoute;
  message: TransportMessage;
  returned?: UnroutableMessageError;
}

const DONE: Promise<void> = Promise.resolve();

export class AmqpPublisher {
  private closed = false;
  private closeReason?: Error;
  private readonly mandatory: InFlightMandatory[] = [];
  /** unconfirmed publishes waiting for the socket to drain */
  private readonly drainWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  /**
   * @param plain confirmPublish false: the plain channel the unconfirmed publishes go on (the
   *   confirm channel then carries only mandatory ones)
   */
  constructor(
    private readonly channel: ConfirmChannel,
    private readonly logger: CeleryLogger,
    private readonly plain?: Channel,
  ) {
    channel.on('error', (err: Error) => {
      this.closeReason = err;
      logger.warn(`publish channel closed by RabbitMQ: ${err.message}`);
    });
    channel.on('close', () => {
      this.closed = true;
      // the broker renews the publisher as a whole: the plain channel goes with it (buffered writes first)
      void plain?.close().catch(() => undefined);
    });
    channel.on('return', (msg: Message) => this.onReturn(msg));
    plain?.on('error', (err: Error) => {
      logger.error(`publish(es) sent without waiting for a confirm (confirmPublish: false) may be lost: RabbitMQ closed their channel: ${err.message}`);
    });
    plain?.on('close', () => {
      this.closed = true;
      // unconfirmed publishes still in amqplib's buffer went with the channel
      const waiters = this.drainWaiters.splice(0);
      const error = new AmqpPublishError('the RabbitMQ publish channel closed before a buffered message was written (confirmPublish: false); publish it again');
      for (const waiter of waiters) waiter.reject(error);
      // and the confirm channel goes with it, once what it carries is confirmed
      void channel
        .waitForConfirms()
        .catch(() => undefined)
        .then(() => channel.close())
        .catch(() => undefined);
    });
  }

  /** False once a channel is gone (server closed it, or the connection dropped). */
  get usable(): boolean {
    return !this.closed;
  }

  publish(message: TransportMessage, route: PublishRoute): Promise<void> {
    if (this.plain && !route.mandatory) return this.publishUnconfirmed(this.plain, message, route);
    return new Promise<void>((resolve, reject) => {
      const options = toPublishOptions(message, route.mandatory === true);
      let entry: InFlightMandatory | undefined;
      if (route.mandatory) this.mandatory.push((entry = { route, message }));
      try {
        this.channel.publish(route.exchange, route.routingKey, message.body, options, (err: unknown) => {
          if (entry) this.forget(entry);
          if (err) reject(this.confirmError(err, route));
          else if (entry?.returned) reject(entry.returned);
          else resolve();
        });
      } catch (err) {
        if (entry) this.forget(entry);
        reject(this.confirmError(err, route));
      }
    });
  }

  /** confirmPublish false: resolved once written (or drained), on the plain channel. */
  private publishUnconfirmed(plain: Channel, message: TransportMessage, route: PublishRoute): Promise<void> {
    let written: boolean;
    try {
      written = plain.publish(route.exchange, route.routingKey, message.body, toPublishOptions(message, false));
    } catch (err) {
      return Promise.reject(this.confirmError(err, route));
    }
    if (written) return DONE;
    if (this.closed) return Promise.reject(this.confirmError(new Error('channel closed'), route));
    return new Promise<void>((resolve, reject) => {
      this.drainWaiters.push({ resolve, reject });
      if (this.drainWaiters.length === 1) plain.once('drain', this.onDrain);
    });
  }

  private readonly onDrain = (): void => {
    const waiters = this.drainWaiters.splice(0);
    for (const waiter of waiters) waiter.resolve();
  };

  /** Wait (bounded) for outstanding confirms, then close the channel. Never throws. */
  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.channel.waitForConfirms().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    await this.plain?.close().catch(() => undefined);
    await this.channel.close().catch(() => undefined);
  }

  private forget(entry: InFlightMandatory): void {
    const i = this.mandatory.indexOf(entry);
    if (i >= 0) this.mandatory.splice(i, 1);
  }

  /**
   * AMQP returns carry no publish sequence number, so match the oldest in-flight mandatory
   * publish with the same route, ids and body.
   */
  private onReturn(msg: Message): void {
    const { exchange, routingKey, replyCode, replyText } = msg.fields as Message['fields'] & {
      replyCode: number;
      replyText: string;
    };
    const entry = this.mandatory.find(
      (e) =>
        !e.returned &&
        e.route.exchange === exchange &&
        e.route.routingKey === routingKey &&
        e.message.properties.correlationId === (msg.properties.correlationId ?? undefined) &&
        e.message.properties.messageId === (msg.properties.messageId ?? undefined) &&
        e.message.body.equals(msg.content),
    );
    if (entry) entry.returned = new UnroutableMessageError(exchange, routingKey, replyCode, replyText);
    else this.logger.warn(`RabbitMQ returned a message we cannot match to a publish (exchange '${exchange}', routing key '${routingKey}')`);
  }

  private confirmError(err: unknown, route: PublishRoute): AmqpPublishError {
    const where = `exchange '${route.exchange}' with routing key '${route.routingKey}'`;
    const text = err instanceof Error ? err.message : String(err);
    if (text === 'message nacked') {
      return new AmqpPublishError(
        `RabbitMQ nacked the message published to ${where}: it was not enqueued ` +
          '(e.g. a queue limit with overflow=reject-publish, or a broker-side error); publish it again or check the queue',
        { cause: err },
      );
    }
    if (this.closeReason) {
      return new AmqpPublishError(`RabbitMQ closed the publish channel before confirming the message to ${where}: ${this.closeReason.message}`, {
        cause: this.closeReason,
      });
    }
    if (this.closed || /closed/i.test(text)) {
      return new AmqpPublishError(
        `the connection to RabbitMQ was lost before the broker confirmed the message to ${where}; ` +
          'it may or may not have been enqueued: publish it again if a duplicate is acceptable',
        { cause: err },
      );
    }
    return new AmqpPublishError(`publishing to ${where} failed: ${text}`, { cause: err });
  }
}
