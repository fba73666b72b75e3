// The Broker interface every broker driver implements: deliveries, declarations of exchanges and queues,
// publish and consume, as the engine needs them.
import type { Observable } from 'rxjs';
import type { ConnectionStatus } from './connection-status.js';
import type { TransportMessage } from '../protocol/transport-message.js';

export type { TransportMessage, MessageProperties } from '../protocol/transport-message.js';

/** Where a delivery came from (kombu's `message.delivery_info`). */
export interface DeliveryInfo {
  exchange: string;
  routingKey: string;
  /** the queue the message was consumed from */
  queue: string;
  redelivered: boolean;
  /** transport's own tag (AMQP delivery tag, kombu `delivery_tag` uuid) */
  deliveryTag?: string | number;
}

/**
 * One consumed message. Exactly one of ack()/reject() must be called for messages consumed
 * with noAck=false; both are idempotent after the first call.
 */
export interface Delivery {
  message: TransportMessage;
  deliveryInfo: DeliveryInfo;
  /**
   * Set when the transport could read the message only partly (e.g. kombu envelope with an
   * invalid base64 body). `message` then carries whatever headers/properties were readable and
   * an empty body; the consumer decides the fate (log, store FAILURE if the id is known, reject).
   */
  transportError?: Error;
  /**
   * Aborted once the broker has taken this delivery back and will deliver it again (AMQP: its
   * channel or connection closed, RabbitMQ requeued it); settling it is a no-op from then on. A
   * worker drops such a message from memory instead of running it. Absent where a delivery stays
   * settleable across reconnects (Redis: the unacked index keeps it).
   */
  readonly lost?: AbortSignal;
  /** Acknowledge: the message is done with and leaves the queue (kombu's `message.ack()`). */
  ack(): Promise<void>;
  /** Reject: back to the queue with `requeue`, else dropped or dead-lettered (kombu's `message.reject(requeue)`). */
  reject(requeue: boolean): Promise<void>;
}

/** The AMQP exchange types Celery uses (kombu's Redis transport emulates them). */
export type ExchangeType = 'direct' | 'topic' | 'fanout';

/** RabbitMQ queue types Celery declares (`x-queue-type`); classic is the broker default. */
export type QueueType = 'classic' | 'quorum';

/** An exchange to declare, as kombu's `Exchange`. */
export interface ExchangeDeclaration {
  name: string;
  type: ExchangeType;
  /** default true (Celery's task exchanges); pidbox/event exchanges are transient */
  durable?: boolean;
  autoDelete?: boolean;
}

/**
 * A queue as kombu declares it: the queue, its exchange, and the binding between them.
 * Defaults follow Celery's default queue: exchange = routingKey = name, direct, durable.
 */
export interface QueueDeclaration {
  name: string;
  /** exchange to bind to; defaults to the queue name. '' means no binding (default exchange only). */
  exchange?: string;
  exchangeType?: ExchangeType;
  exchangeDurable?: boolean;
  /** binding key; defaults to the queue name */
  routingKey?: string;
  durable?: boolean;
  autoDelete?: boolean;
  exclusive?: boolean;
  /** queue arguments: x-queue-type, x-max-priority, x-expires, x-message-ttl ... passed through verbatim */
  arguments?: Record<string, unknown>;
  /**
   * Use the queue as it exists instead of declaring it (kombu's `no_declare`, a passive
   * queue.declare): nothing is declared or bound, and only a missing queue is an error.
   */
  passive?: boolean;
}

/** The queue's type as declared: `x-queue-type`, classic when absent. */
// eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- the known types for the reader; a broker may report others
export function queueTypeOf(queue: QueueDeclaration): QueueType | string {
  const type = queue.arguments?.['x-queue-type'];
  return typeof type === 'string' ? type : 'classic';
}

/**
 * What a broker reports when a queue or exchange already exists with other properties
 * (RabbitMQ's 406 PRECONDITION_FAILED "inequivalent arg"): errors carrying it expose it as
 * `error.mismatch`, so callers can name the setting to change.
 */
export interface DeclarationMismatch {
  entity: 'queue' | 'exchange';
  name: string;
  /** the property that differs, as the broker names it: x-queue-type, durable, type … */
  argument?: string;
  /** what we declared */
  declared: Record<string, unknown>;
  /** the broker's words on the existing entity ("received 'classic' but current is 'quorum'") */
  existing: string;
}

export function declarationMismatchOf(error: unknown): DeclarationMismatch | undefined {
  const mismatch = (error as { mismatch?: DeclarationMismatch } | null)?.mismatch;
  return mismatch && typeof mismatch === 'object' ? mismatch : undefined;
}

/**
 * Native delayed delivery (kombu's native_delayed_delivery, Celery 5.5+): the
 * `celery_delayed_0..27` levels route a message through TTL queues for the binary digits of its
 * delay, then to `celery_delayed_delivery`, which the destination queues' exchanges are bound to.
 * Only brokers that have it (RabbitMQ) expose it.
 */
export interface DelayedDelivery {
  /** declare the levels and the delivery exchange exactly as kombu does (idempotent) */
  declareTopology(queueType: QueueType): Promise<void>;
  /**
   * Bind a queue's exchange to the delivery exchange and the queue to its exchange, as Celery's
   * worker does for the queues it consumes. Resolves false for a direct exchange (kombu skips
   * those: they cannot carry the delay's routing key).
   */
  bindQueue(queue: QueueDeclaration): Promise<boolean>;
  /** where to publish a message for `routingKey` to arrive in `delaySeconds` (whole, ≥ 1) */
  route(delaySeconds: number, routingKey: string): PublishRoute;
}

/** Where a message is published: exchange and routing key, as kombu's `producer.publish(exchange=, routing_key=)`. */
export interface PublishRoute {
  /** '' = the default exchange (Celery publishes tasks there with routingKey = queue name) */
  exchange: string;
  routingKey: string;
  /**
   * AMQP `mandatory`: the broker hands back a message no queue is bound to receive, and
   * publish() rejects (UnroutableMessageError) instead of resolving. Celery never sets it
   * (events and broadcasts without listeners are normal); brokers without returns ignore it.
   */
  mandatory?: boolean;
}

/** How a consumer receives: its prefetch (Celery's `worker_prefetch_multiplier` × concurrency) and limits. */
export interface ConsumeOptions {
  /** at most this many delivered-but-unsettled messages across all queues of this consumer */
  prefetch: number;
  /** deliveries are settled by the broker on delivery (RPC reply queues, pidbox) */
  noAck?: boolean;
  /**
   * The consumer will change its window with `setPrefetch()` while it runs (a worker holding
   * ETA tasks). On AMQP the window is always per consumer (basic.qos global=false: quorum
   * queues and RabbitMQ 4.3 refuse global QoS); a change re-subscribes with the new window.
   */
  adjustablePrefetch?: boolean;
  /**
   * Largest message body this consumer takes (the worker's maxMessageBytes). A transport that
   * must decode more than the body to read the headers (kombu's Redis envelope) checks it before
   * decoding and hands the delivery over with an empty body and a MessageTooLargeError as its
   * transportError; others hand the body over and leave the check to the worker.
   */
  maxMessageBytes?: number;
}

/** A running consumer of some queues, returned by `Broker.consume`. */
export interface Consumer {
  /** stop receiving; deliveries already handed out stay valid until settled */
  cancel(): Promise<void>;
  /**
   * Celery's `qos.set(n)` (`increment_eventually` / `decrement_eventually`): change the window of
   * unsettled deliveries (≥ 1) while consuming, e.g. so ETA tasks held unacked in memory do not
   * use up the slots of runnable ones. Applies to consumers started with `adjustablePrefetch`.
   */
  setPrefetch?(count: number): void;
}

/** Called with each delivery of a consumer; it must settle the delivery (ack or reject) itself. */
export type DeliveryHandler = (delivery: Delivery) => void;

/**
 * What a broker can do, as kombu's `Transport.implements`: the engine branches on these, never
 * on a broker's name, so a new broker declares them and needs no engine change.
 */
export interface BrokerCapabilities {
  /**
   * Routes topic exchanges with AMQP's semantics (topic-match.ts), so broadcasts (the `celeryev`
   * events) may use them. Without it, topic bindings follow kombu's virtual TopicExchange (the
   * kombu column of topic-match.table.ts, what Python peers on the same Redis do) and broadcasts
   * use fanout, as kombu's Redis does.
   */
  readonly topicExchanges: boolean;
  /**
   * Closes a channel whose delivery stays unacked past a server deadline (RabbitMQ's
   * `consumer_timeout`), so the worker guards long-held deliveries.
   */
  readonly consumerTimeout: boolean;
  /**
   * Celery's `worker_disable_prefetch` applies (Celery: Redis only): the worker then never
   * fetches more than it can run, held ETA tasks included.
   */
  readonly disablePrefetch: boolean;
  /**
   * How a message's `priority` orders the waiting messages of one queue: 'higher-first' (AMQP: on
   * a queue declared with `x-max-priority`, others stay FIFO), 'lower-first' (kombu's Redis: on
   * every queue, 0 first, in the steps 0, 3, 6, 9), 'none' (FIFO whatever the priority).
   */
  readonly priorities: 'higher-first' | 'lower-first' | 'none';
}

/** A message broker that speaks the way kombu does on the wire. */
export interface Broker {
  /** A label for humans (banner, `inspect stats`): 'amqp' | 'redis' | 'memory'. Never branched on. */
  readonly kind: string;
  readonly capabilities: BrokerCapabilities;
  readonly status$: Observable<ConnectionStatus>;
  /** native delayed delivery, where the broker has it (RabbitMQ) */
  readonly delayedDelivery?: DelayedDelivery;
  /** Open the connection (retrying with backoff as the driver does); resolves once usable. */
  connect(): Promise<void>;
  /** cancels consumers, closes connections; unsettled deliveries return to their queue */
  close(): Promise<void>;
  /** Declare an exchange (idempotent, as kombu's `exchange.declare()`). */
  declareExchange(exchange: ExchangeDeclaration): Promise<void>;
  /** declare queue + exchange + binding (idempotent, same arguments as Celery) */
  declareQueue(queue: QueueDeclaration): Promise<void>;
  /** set while the broker refuses publishes (RabbitMQ connection.blocked: an alarm), with its reason */
  readonly blocked?: string;
  /**
   * resolves once the broker has taken responsibility for the message (publisher confirm).
   * With a ticket: a message whose ticket is cancelled before it is written is never written,
   * and `ticket.written` tells the sender whether it reached the socket.
   */
  publish(message: TransportMessage, route: PublishRoute, ticket?: PublishTicket): Promise<void>;
  /** Start consuming the queues; each delivery goes to `onDelivery`, which settles it. */
  consume(queues: string[], options: ConsumeOptions, onDelivery: DeliveryHandler): Promise<Consumer>;
}

/**
 * Shared between a sender and the broker for one publish: the sender cancels it (it gave up,
 * e.g. PublishTimeoutError), the broker marks it written when it goes to the socket, and never
 * writes a cancelled one, so a publish reported failed is not sent afterwards.
 */
export interface PublishTicket {
  cancelled: boolean;
  written: boolean;
}

/** A held publish was cancelled by its sender (it gave up waiting) before it was written: never sent. */
export class PublishCancelledError extends Error {
  constructor() {
    super('the publish was cancelled by its sender before it was written to the broker: it was not sent');
    this.name = 'PublishCancelledError';
  }
}

/** Mark a ticket written just before the write; a cancelled one throws instead (never written). */
export function claimTicket(ticket: PublishTicket | undefined): void {
  if (ticket?.cancelled) throw new PublishCancelledError();
  if (ticket) ticket.written = true;
}
