/**
 * The asking end of the remote-control mailbox (kombu/pidbox.py `Mailbox._broadcast`,
 * `_publish`, `_collect`): publishes a request to `celery.pidbox` and, when a reply is wanted,
 * collects `{nodename: reply}` messages carrying its ticket from this client's reply queue until
 * `limit` replies came or none came for `timeout` ms.
 */
import { randomUUID } from 'node:crypto';
import type { CeleryLogger } from '../../common/logger.js';
import { AcceptContent, decodeBody, encodeBody, type SerializerName } from '../../protocol/serialization.js';
import type { Broker, Consumer, Delivery, PublishRoute, TransportMessage } from '../../transport/broker.interface.js';
import type { LamportClock } from '../events/lamport-clock.js';
import { DEFAULT_CONTROL_NAMESPACE, mailboxExchange, replyExchange, replyQueue, type ControlRequest, type ControlQueueFlags } from './mailbox.js';
import { withTimeout } from './timeout.js';

/** A request the broker has not taken within this fails (the broker is unreachable). */
const PUBLISH_TIMEOUT_MS = 10_000;

export interface MailboxClientHost {
  readonly broker: Broker;
  readonly clock: LamportClock;
  /** publishes under the app's maxPendingPublishes bound (Celery.publishDirect) */
  publishDirect(what: string, message: TransportMessage, route: PublishRoute): Promise<void>;
  connect(): Promise<void>;
}

export interface MailboxClientOptions {
  /** Celery's `control_exchange` (default 'celery') */
  namespace?: string;
  /** serializer of requests (Celery: task_serializer, default json) */
  serializer?: SerializerName;
  /** accept_content for replies (default ['json']) */
  acceptContent?: readonly string[];
  /** control_queue_exclusive / control_queue_durable of the reply queue */
  queueFlags?: ControlQueueFlags;
  logger: CeleryLogger;
}

/** How a control command is broadcast: its arguments, which nodes act, whether and how long to wait for replies. */
export interface BroadcastOptions {
  /** the command's keyword arguments */
  arguments?: Record<string, unknown>;
  /** nodenames that should act (default: every node) */
  destination?: string[] | null;
  /** with `matcher`: a nodename pattern instead of a destination list */
  pattern?: string;
  /** 'glob' (default for patterns) or 'pcre' */
  matcher?: 'glob' | 'pcre';
  /** wait for replies (default false: fire and forget) */
  reply?: boolean;
  /** ms to wait for the next reply before giving up (default 1000, Celery's 1.0 s) */
  timeout?: number;
  /** stop after this many replies (default: the number of destinations, else unlimited) */
  limit?: number;
}

/** Replies as kombu returns them: one `{nodename: reply}` object per answering node. */
export type NodeReplies = Record<string, unknown>[];

interface Collector {
  replies: NodeReplies;
  limit?: number;
  timeoutMs: number;
  timer?: NodeJS.Timeout;
  finished?: boolean;
  done(): void;
}

export const DEFAULT_CONTROL_TIMEOUT_MS = 1000;

export class MailboxClient {
  /** this client's reply routing key (kombu's `oid`) */
  readonly oid = randomUUID();
  private readonly namespace: string;
  private readonly accept: AcceptContent;
  private readonly collectors = new Map<string, Collector>();
  private exchangeDeclared?: Promise<void>;
  private listening?: Promise<Consumer>;

  constructor(
    private readonly app: MailboxClientHost,
    private readonly options: MailboxClientOptions,
  ) {
    this.namespace = options.namespace ?? DEFAULT_CONTROL_NAMESPACE;
    this.accept = new AcceptContent(options.acceptContent ?? ['json']);
  }

  async broadcast(command: string, options: BroadcastOptions = {}): Promise<NodeReplies> {
    await this.app.connect();
    const timeoutMs = options.timeout ?? DEFAULT_CONTROL_TIMEOUT_MS;
    const destination = options.destination?.length ? [...options.destination] : null;
    const request: ControlRequest = {
      method: command,
      arguments: options.arguments ?? {},
      destination,
      pattern: options.pattern ?? null,
      matcher: options.pattern ? (options.matcher ?? 'glob') : null,
    };
    let collector: Collector | undefined;
    let collected: Promise<NodeReplies> | undefined;
    if (options.reply) {
      await withTimeout(this.listen(), PUBLISH_TIMEOUT_MS, `declaring the remote-control reply queue`);
      const ticket = randomUUID();
      request.ticket = ticket;
      request.reply_to = { exchange: replyExchange(this.namespace).name, routing_key: this.oid };
      collected = new Promise((resolve) => {
        collector = {
          replies: [],
          // kombu: the reply limit defaults to the number of destinations
          limit: options.limit ?? destination?.length,
          timeoutMs,
          done: () => {
            collector!.finished = true;
            clearTimeout(collector!.timer);
            this.collectors.delete(ticket);
            resolve(collector!.replies);
          },
        };
        this.collectors.set(ticket, collector);
      });
    }
    try {
      await withTimeout(this.publish(request, timeoutMs), PUBLISH_TIMEOUT_MS, `sending the ${command} remote-control request`);
    } catch (error) {
      if (request.ticket) this.collectors.delete(request.ticket);
      throw error;
    }
    if (!collector || !collected) return [];
    this.arm(collector);
    return collected;
  }

  /** Stop listening for replies; pending broadcasts resolve with what they have. */
  async close(): Promise<void> {
    for (const collector of [...this.collectors.values()]) collector.done();
    const listening = this.listening;
    this.listening = undefined;
    this.exchangeDeclared = undefined;
    const consumer = await listening?.catch(() => undefined);
    await consumer?.cancel();
  }

  private async publish(request: ControlRequest, timeoutMs: number): Promise<void> {
    const exchange = mailboxExchange(this.namespace);
    this.exchangeDeclared ??= this.app.broker.declareExchange(exchange).catch((error: unknown) => {
      this.exchangeDeclared = undefined;
      throw error;
    });
    await this.exchangeDeclared;
    const encoded = encodeBody(request, this.options.serializer ?? 'json');
    await this.app.publishDirect(
      'remote-control request',
      {
        body: encoded.body,
        contentType: encoded.contentType,
        contentEncoding: encoded.contentEncoding,
        // kombu: expires = time() + timeout (float seconds), 0 without a timeout
        headers: { clock: this.app.clock.forward(), expires: timeoutMs > 0 ? (performance.timeOrigin + performance.now() + timeoutMs) / 1000 : 0 },
        properties: { deliveryMode: 1 },
      },
      { exchange: exchange.name, routingKey: '' },
    );
  }

  /** The reply queue is declared and consumed once, for the client's lifetime. */
  private listen(): Promise<Consumer> {
    this.listening ??= (async () => {
      const queue = replyQueue(this.oid, this.namespace, this.options.queueFlags);
      await this.app.broker.declareQueue(queue);
      return this.app.broker.consume([queue.name], { prefetch: 0, noAck: true }, (d) => this.onReply(d));
    })().catch((error: unknown) => {
      this.listening = undefined;
      throw error;
    });
    return this.listening;
  }

  /** (Re)start the wait for the next reply. */
  private arm(collector: Collector): void {
    // on a fast transport every reply may be in before the request's publish resolved
    if (collector.finished) return;
    clearTimeout(collector.timer);
    collector.timer = setTimeout(() => collector.done(), collector.timeoutMs);
  }

  private onReply(delivery: Delivery): void {
    const headers = delivery.message.headers ?? {};
    this.app.clock.adjust(headers.clock ?? 0);
    const expires = headers.expires;
    if (typeof expires === 'number' && expires > 0 && Date.now() / 1000 > expires) return;
    const collector = typeof headers.ticket === 'string' ? this.collectors.get(headers.ticket) : undefined;
    // a reply for a broadcast that already gave up: kombu keeps it as "unclaimed", nobody reads it
    if (!collector) return;
    let body: unknown;
    try {
      body = decodeBody(delivery.message, this.accept);
    } catch (error) {
      this.options.logger.warn(`ignored an undecodable remote-control reply: ${(error as Error)?.message ?? error}`);
      return;
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) return;
    collector.replies.push(body as Record<string, unknown>);
    if (collector.limit !== undefined && collector.replies.length >= collector.limit) collector.done();
    else this.arm(collector);
  }
}
