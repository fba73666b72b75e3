/**
 * Celery's remote-control mailbox ("pidbox") on the wire (kombu/pidbox.py `Mailbox`;
 * celery/app/control.py `Control`): exchanges, queues and message shapes, declared exactly as
 * Python declares them so both can share a broker without PRECONDITION_FAILED. Pure.
 */
import type { ExchangeDeclaration, QueueDeclaration } from '../../transport/broker.interface.js';

/** Celery's `control_exchange` setting: the mailbox namespace. */
export const DEFAULT_CONTROL_NAMESPACE = 'celery';
/** `control_queue_ttl` (300 s) and `control_queue_expires` (10 s), in ms as kombu sends them. */
export const CONTROL_QUEUE_TTL_MS = 300_000;
export const CONTROL_QUEUE_EXPIRES_MS = 10_000;

/** Every worker's mailbox: a transient fanout exchange (`celery.pidbox`). */
export function mailboxExchange(namespace = DEFAULT_CONTROL_NAMESPACE): ExchangeDeclaration {
  return { name: `${namespace}.pidbox`, type: 'fanout', durable: false, autoDelete: false };
}

/** Where replies go: a transient direct exchange (`reply.celery.pidbox`). */
export function replyExchange(namespace = DEFAULT_CONTROL_NAMESPACE): ExchangeDeclaration {
  return { name: `reply.${namespace}.pidbox`, type: 'direct', durable: false, autoDelete: false };
}

/**
 * control_queue_exclusive / control_queue_durable. Celery's RabbitMQ 4.3 fix (celery #10290,
 * kombu #2531) made the queues exclusive by default: RabbitMQ 4.3 refuses transient
 * non-exclusive queues. Durable ones auto-delete when unused, as kombu declares them.
 */
export interface ControlQueueFlags {
  exclusive?: boolean;
  durable?: boolean;
}

function queueFlags(flags: ControlQueueFlags = {}) {
  const durable = flags.durable ?? false;
  return { durable, autoDelete: !durable, exclusive: flags.exclusive ?? !durable, exchangeDurable: false } as const;
}
const queueArguments = { 'x-expires': CONTROL_QUEUE_EXPIRES_MS, 'x-message-ttl': CONTROL_QUEUE_TTL_MS };

/** A worker's node queue `<nodename>.celery.pidbox`, bound to the mailbox with routing key ''. */
export function nodeQueue(hostname: string, namespace = DEFAULT_CONTROL_NAMESPACE, flags?: ControlQueueFlags): QueueDeclaration {
  const exchange = mailboxExchange(namespace);
  return {
    name: `${hostname}.${namespace}.pidbox`,
    exchange: exchange.name,
    exchangeType: 'fanout',
    routingKey: '',
    ...queueFlags(flags),
    arguments: { ...queueArguments },
  };
}

/** A client's reply queue `<oid>.reply.celery.pidbox`, bound to the reply exchange with its oid. */
export function replyQueue(oid: string, namespace = DEFAULT_CONTROL_NAMESPACE, flags?: ControlQueueFlags): QueueDeclaration {
  const exchange = replyExchange(namespace);
  return {
    name: `${oid}.${exchange.name}`,
    exchange: exchange.name,
    exchangeType: 'direct',
    routingKey: oid,
    ...queueFlags(flags),
    arguments: { ...queueArguments },
  };
}

/** Where a node sends its reply. */
export interface ReplyTo {
  exchange: string;
  routing_key: string;
}

/** A remote-control request (kombu `Mailbox._publish`), in kombu's key order. */
export interface ControlRequest {
  method: string;
  arguments: Record<string, unknown>;
  /** nodenames that should act; null/empty = every node */
  destination: string[] | null;
  /** with `matcher` ('glob' | 'pcre'): nodenames that should act */
  pattern: string | null;
  matcher: string | null;
  /** present when a reply is wanted */
  ticket?: string;
  reply_to?: ReplyTo;
}

/** A body is a request when it names a method; anything else is not for a mailbox. */
export function readControlRequest(body: unknown): ControlRequest | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.method !== 'string') return undefined;
  const replyTo = b.reply_to as Partial<ReplyTo> | null | undefined;
  return {
    method: b.method,
    arguments: b.arguments && typeof b.arguments === 'object' && !Array.isArray(b.arguments) ? (b.arguments as Record<string, unknown>) : {},
    destination: Array.isArray(b.destination) ? b.destination.filter((d): d is string => typeof d === 'string') : null,
    pattern: typeof b.pattern === 'string' ? b.pattern : null,
    matcher: typeof b.matcher === 'string' ? b.matcher : null,
    ticket: typeof b.ticket === 'string' ? b.ticket : undefined,
    reply_to:
      replyTo && typeof replyTo === 'object' && typeof replyTo.exchange === 'string' && typeof replyTo.routing_key === 'string'
        ? { exchange: replyTo.exchange, routing_key: replyTo.routing_key }
        : undefined,
  };
}
