/**
 * Listens to monitoring events like Celery's EventReceiver (celery/events/receiver.py), the
 * piece under `celery events` and Flower: a transient `celeryev.<uuid>` queue bound to
 * `celeryev`, consumed without acks; a message is one event or a list of them (`task.multi`,
 * what Python workers send when they buffer task events).
 */
import { randomUUID } from 'node:crypto';
import type { CeleryLogger } from '../../common/logger.js';
import { AcceptContent, decodeBody } from '../../protocol/serialization.js';
import type { Broker, Consumer, Delivery } from '../../transport/broker.interface.js';
import { EVENT_EXCHANGE, eventExchange, utcoffset, type CeleryEvent } from './event.js';
import type { LamportClock } from './lamport-clock.js';
import type { CeleryOptions } from '../celery.options.js';
import { ImproperlyConfiguredError } from '../errors.js';

/** A received event: the sender's fields, `timestamp` in our timezone's terms, `local_received`. */
export type ReceivedEvent = CeleryEvent & { local_received: number };
/** Called with each received event (its fields as Celery sends them, plus `local_received`). */
export type EventHandler = (event: ReceivedEvent) => void;

export interface EventReceiverHost {
  readonly broker: Broker;
  readonly clock: LamportClock;
  readonly control: { heartbeat(): Promise<unknown> };
  readonly options?: Pick<CeleryOptions, 'eventQueueExclusive' | 'eventQueueDurable'>;
  connect(): Promise<void>;
}

/** What an EventReceiver listens to and the queue it declares (Celery's event_queue_* settings). */
export interface EventReceiverOptions {
  /** event type → handler; '*' gets the events without a handler of their own */
  handlers: Record<string, EventHandler>;
  /** binding key on celeryev, default '#' (everything); e.g. 'worker.#' */
  routingKey?: string;
  /** ask every worker for a heartbeat once listening, as `celery events` does (default true) */
  wakeup?: boolean;
  /** Celery's event_queue_ttl (5 s) and event_queue_expires (60 s), in ms */
  queueTtlMs?: number;
  queueExpiresMs?: number;
  /** Celery's event_queue_prefix (default 'celeryev') */
  queuePrefix?: string;
  /**
   * event_queue_exclusive (default: the app's eventQueueExclusive, else true as Celery since its
   * RabbitMQ 4.3 fix) and event_queue_durable (default false; a durable queue auto-deletes when unused)
   */
  queueExclusive?: boolean;
  queueDurable?: boolean;
  logger?: CeleryLogger;
}

/** `CLIENT_CLOCK_SKEW`: task-sent comes from clients that never sync their clock. */
const CLIENT_CLOCK_SKEW = -1;

/** Celery's `EventReceiver`: a consumer of monitoring events from the `celeryev` exchange (what `celery events` and Flower read). */
export class EventReceiver {
  readonly queue: string;
  private consumer?: Consumer;
  private readonly accept = new AcceptContent(['json']);

  constructor(
    private readonly app: EventReceiverHost,
    private readonly options: EventReceiverOptions,
  ) {
    this.queue = `${options.queuePrefix ?? 'celeryev'}.${randomUUID()}`;
  }

  /** Declare this receiver's auto-expiring queue, bind it to `celeryev` and start consuming (then ask workers for a heartbeat unless `wakeup` is false). */
  async start(): Promise<void> {
    if (this.consumer) return;
    await this.app.connect();
    const exchange = eventExchange(this.app.broker.capabilities);
    const durable = this.options.queueDurable ?? this.app.options?.eventQueueDurable ?? false;
    const exclusive = this.options.queueExclusive ?? this.app.options?.eventQueueExclusive ?? !durable;
    if (durable && exclusive) throw new ImproperlyConfiguredError('an event queue cannot be both exclusive and durable: choose one');
    await this.app.broker.declareExchange(exchange);
    await this.app.broker.declareQueue({
      name: this.queue,
      exchange: EVENT_EXCHANGE,
      exchangeType: exchange.type,
      exchangeDurable: true,
      routingKey: this.options.routingKey ?? '#',
      durable,
      autoDelete: !durable,
      exclusive,
      arguments: { 'x-message-ttl': this.options.queueTtlMs ?? 5000, 'x-expires': this.options.queueExpiresMs ?? 60_000 },
    });
    this.consumer = await this.app.broker.consume([this.queue], { prefetch: 0, noAck: true }, (d) => this.onMessage(d));
    if (this.options.wakeup ?? true) await this.app.control.heartbeat();
  }

  /** Stop consuming; the queue expires on the broker by itself. */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.cancel();
  }

  private onMessage(delivery: Delivery): void {
    let body: unknown;
    try {
      body = decodeBody(delivery.message, this.accept);
    } catch (error) {
      this.options.logger?.warn(`ignored an undecodable event: ${(error as Error)?.message ?? error}`);
      return;
    }
    // Celery 4+: a message may carry a list of events (buffered task events, `task.multi`)
    for (const item of Array.isArray(body) ? body : [body]) {
      if (item && typeof item === 'object' && typeof (item as { type?: unknown }).type === 'string') this.process(this.fromMessage(item as CeleryEvent));
    }
  }

  /** celery/events/receiver.py `event_from_message`: clock, timestamp localized, local_received. */
  private fromMessage(event: CeleryEvent): ReceivedEvent {
    const body = { ...event } as ReceivedEvent;
    if (body.type === 'task-sent') {
      body.clock = (this.app.clock.value || 1) + CLIENT_CLOCK_SKEW;
      this.app.clock.adjust(body.clock);
    } else if (body.clock === undefined) {
      body.clock = this.app.clock.forward();
    } else {
      this.app.clock.adjust(body.clock);
    }
    if (typeof body.utcoffset === 'number' && typeof body.timestamp === 'number') {
      // celery/utils/time.py adjust_timestamp: the sender's offset against ours, in hours
      body.timestamp = body.timestamp - (body.utcoffset - utcoffset()) * 3600;
    }
    body.local_received = Date.now() / 1000;
    return body;
  }

  private process(event: ReceivedEvent): void {
    const handler = this.options.handlers[event.type] ?? this.options.handlers['*'];
    try {
      handler?.(event);
    } catch (error) {
      this.options.logger?.error(`the ${event.type} event handler threw: ${(error as Error)?.message ?? error}`);
    }
  }
}
