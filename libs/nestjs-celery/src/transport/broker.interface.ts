import type { Observable } from 'rxjs';
import type { ConnectionStatus } from './connection-status.js';
import type { TransportMessage } from '../protocol/transport-message.js';

export type { TransportMessage, MessageProperties } from '../protocol/transport-message.js';

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
  ack(): Promise<void>;
  reject(requeue: boolean): Promise<void>;
}

export type ExchangeType = 'direct' | 'topic' | 'fanout';

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
  /** queue arguments: x-max-priority, x-expires, x-message-ttl ... passed through verbatim */
  arguments?: Record<string, unknown>;
}

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

export interface ConsumeOptions {
  /** at most this many delivered-but-unsettled messages across all queues of this consumer */
  prefetch: number;
  /** deliveries are settled by the broker on delivery (RPC reply queues, pidbox) */
  noAck?: boolean;
  /**
   * The consumer will change its window with `setPrefetch()` while it runs (a worker holding
   * ETA tasks). On AMQP this takes RabbitMQ's per-channel prefetch (basic.qos global), which
   * can change on the fly but which quorum queues refuse, as in Celery 5.2.
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

export type DeliveryHandler = (delivery: Delivery) => void;

/** A message broker that speaks the way kombu does on the wire. */
export interface Broker {
  /** 'amqp' | 'redis' | 'memory' */
  readonly kind: string;
  readonly status$: Observable<ConnectionStatus>;
  connect(): Promise<void>;
  /** cancels consumers, closes connections; unsettled deliveries return to their queue */
  close(): Promise<void>;
  declareExchange(exchange: ExchangeDeclaration): Promise<void>;
  /** declare queue + exchange + binding (idempotent, same arguments as Celery) */
  declareQueue(queue: QueueDeclaration): Promise<void>;
  /** resolves once the broker has taken responsibility for the message (publisher confirm) */
  publish(message: TransportMessage, route: PublishRoute): Promise<void>;
  consume(queues: string[], options: ConsumeOptions, onDelivery: DeliveryHandler): Promise<Consumer>;
}
