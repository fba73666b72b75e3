/**
 * A worker's end of the remote-control mailbox (kombu/pidbox.py `Node`, celery/worker/pidbox.py):
 * consumes `<nodename>.celery.pidbox` without acks, acts on requests addressed to this node
 * (destination list, glob/pcre pattern, or everyone), and publishes `{nodename: reply}` to the
 * asker's reply queue with the request's ticket.
 */
import type { CeleryLogger } from '../../common/logger.js';
import { serializeException } from '../../protocol/exceptions.js';
import { KeyError } from '../../protocol/python-errors.js';
import { AcceptContent, decodeBody, encodeBody, type SerializerName } from '../../protocol/serialization.js';
import type { Broker, Consumer, Delivery, PublishRoute, TransportMessage } from '../../transport/broker.interface.js';
import type { LamportClock } from '../events/lamport-clock.js';
import { exceptionRepr } from '../events/task-events.js';
import {
  DEFAULT_CONTROL_NAMESPACE,
  mailboxExchange,
  nodeQueue,
  readControlRequest,
  replyExchange,
  type ControlQueueFlags,
  type ControlRequest,
} from './mailbox.js';
import { QueueInUseError } from '../../transport/broker.errors.js';
import { matches } from './matcher.js';
import { withTimeout } from './timeout.js';

/** How often a worker retries its node queue while another connection holds it exclusively. */
const LOCKED_RETRY_MS = 2000;

/** A reply that cannot reach the broker within this is dropped (the asker has given up by then). */
const REPLY_TIMEOUT_MS = 5000;

/** What a handler returns when the asker gets no reply (Celery's `shutdown` raises WorkerShutdown instead of answering). */
export const NO_REPLY: unique symbol = Symbol('no reply');

/** One remote-control command: Celery calls `handler(state, **arguments)`. */
export type ControlHandler = (args: Record<string, unknown>) => unknown;

export interface PidboxHost {
  readonly broker: Broker;
  readonly clock: LamportClock;
  /** publishes under the app's maxPendingPublishes bound (Celery.publishDirect) */
  publishDirect(what: string, message: TransportMessage, route: PublishRoute): Promise<void>;
}

export interface PidboxNodeOptions {
  hostname: string;
  /** Celery's `control_exchange` (default 'celery') */
  namespace?: string;
  /** accept_content for requests (default ['json']) */
  acceptContent?: readonly string[];
  /** serializer of replies (Celery: task_serializer, default json) */
  serializer?: SerializerName;
  /**
   * Requests larger than this, as received or once decompressed, are dropped with a log line
   * (default 8 MiB: a `hello` carrying 50,000 revoked ids is about 5 MB).
   */
  maxMessageBytes?: number;
  /**
   * Reply exchanges other than `reply.<namespace>.pidbox` (the one every Celery client uses)
   * this node declares at most; a request naming one more gets no reply (default 16).
   */
  maxReplyExchanges?: number;
  /** control_queue_exclusive / control_queue_durable */
  queueFlags?: ControlQueueFlags;
  logger: CeleryLogger;
}

export const DEFAULT_CONTROL_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_REPLY_EXCHANGES = 16;

/** Python's `repr(exc)` of whatever a handler threw, for `{"error": …}` replies. */
export function errorRepr(error: unknown): string {
  return exceptionRepr(serializeException(error));
}

export class PidboxNode {
  readonly hostname: string;
  private readonly namespace: string;
  private readonly accept: AcceptContent;
  private consumer?: Consumer;
  private readonly declaredReplyExchanges = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly app: PidboxHost,
    private readonly handlers: ReadonlyMap<string, ControlHandler>,
    private readonly options: PidboxNodeOptions,
  ) {
    this.hostname = options.hostname;
    this.namespace = options.namespace ?? DEFAULT_CONTROL_NAMESPACE;
    this.accept = new AcceptContent(options.acceptContent ?? ['json']);
  }

  private get replyExchangeName(): string {
    return replyExchange(this.namespace).name;
  }

  get queueName(): string {
    return nodeQueue(this.hostname, this.namespace).name;
  }

  async start(): Promise<void> {
    if (this.consumer || this.retry) return;
    try {
      await this.listen();
    } catch (error) {
      if (!(error instanceof QueueInUseError)) throw error;
      // kombu raises InconsistencyError here; we keep the worker up and try again
      this.options.logger.warn(`remote control is not listening yet: ${error.message}. Retrying every ${LOCKED_RETRY_MS / 1000} s; tasks run meanwhile`);
      this.retry = setInterval(() => void this.retryListen(), LOCKED_RETRY_MS);
      this.retry.unref();
    }
  }

  private retry?: NodeJS.Timeout;
  private retrying = false;

  private async listen(): Promise<void> {
    await this.app.broker.declareExchange(mailboxExchange(this.namespace));
    await this.app.broker.declareQueue(nodeQueue(this.hostname, this.namespace, this.options.queueFlags));
    this.consumer = await this.app.broker.consume([this.queueName], { prefetch: 0, noAck: true }, (d) => this.onDelivery(d));
  }

  private async retryListen(): Promise<void> {
    if (this.retrying || !this.retry) return;
    this.retrying = true;
    try {
      await this.listen();
      clearInterval(this.retry);
      this.retry = undefined;
      this.options.logger.log(`remote control listening on ${this.queueName} (the previous holder released it)`);
    } catch (error) {
      const still = error instanceof QueueInUseError;
      this.options.logger[still ? 'debug' : 'warn']?.(`remote control still not listening on ${this.queueName}: ${(error as Error)?.message ?? error}`);
    } finally {
      this.retrying = false;
    }
  }

  /** Stop listening; requests being answered finish first. */
  async stop(): Promise<void> {
    if (this.retry) clearInterval(this.retry);
    this.retry = undefined;
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.cancel();
    await Promise.allSettled([...this.inFlight]);
  }

  private onDelivery(delivery: Delivery): void {
    const done = this.handleDelivery(delivery).catch((error: unknown) => {
      this.options.logger.error(`remote control: ${(error as Error)?.message ?? error}`);
    });
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  private async handleDelivery(delivery: Delivery): Promise<void> {
    // celery/worker/pidbox.py: clients rarely carry a useful clock, so forward ours first
    this.app.clock.forward();
    const limit = this.options.maxMessageBytes ?? DEFAULT_CONTROL_MAX_MESSAGE_BYTES;
    if (delivery.message.body.length > limit) {
      this.options.logger.error(
        `dropped a remote-control message of ${delivery.message.body.length} bytes on ${this.queueName}: over the ${limit}-byte limit (controlMaxMessageBytes)`,
      );
      return;
    }
    let body: unknown;
    try {
      body = decodeBody(delivery.message, this.accept, { maxDecompressedBytes: limit });
    } catch (error) {
      this.options.logger.error(`cannot decode a remote-control message: ${(error as Error)?.message ?? error}`);
      return;
    }
    const request = readControlRequest(body);
    if (!request) {
      this.options.logger.warn(`ignored a message on ${this.queueName} that is not a remote-control request`);
      return;
    }
    this.app.clock.adjust(delivery.message.headers?.clock ?? 0);
    await this.handle(request);
  }

  /** kombu `Node.handle_message`: act when addressed, reply when asked. Returns the reply, if any. */
  async handle(request: ControlRequest): Promise<unknown> {
    if (!this.addressed(request)) return undefined;
    let reply: unknown;
    try {
      const handler = this.handlers.get(request.method);
      // kombu looks the handler up in a dict: an unknown command replies KeyError('<method>')
      if (!handler) throw new KeyError(request.method);
      reply = await handler(request.arguments);
    } catch (error) {
      this.options.logger.error(`remote-control command ${request.method} failed: ${(error as Error)?.message ?? error}`);
      reply = { error: errorRepr(error) };
    }
    if (reply === NO_REPLY) return undefined;
    if (request.reply_to) await withTimeout(this.reply({ [this.hostname]: reply ?? null }, request), REPLY_TIMEOUT_MS, `replying to ${request.method}`);
    return reply;
  }

  private addressed(request: ControlRequest): boolean {
    if (request.destination?.length) return request.destination.includes(this.hostname);
    if (request.pattern && request.matcher) {
      try {
        return matches(this.hostname, request.pattern, request.matcher);
      } catch (error) {
        this.options.logger.error(`remote-control command ${request.method}: ${(error as Error).message}`);
        return false;
      }
    }
    return true;
  }

  private async reply(data: Record<string, unknown>, request: ControlRequest): Promise<void> {
    const { exchange, routing_key } = request.reply_to!;
    // kombu declares the reply exchange (direct, transient) before every reply
    let declared = this.declaredReplyExchanges.get(exchange);
    if (!declared) {
      const others = this.declaredReplyExchanges.size - (this.declaredReplyExchanges.has(this.replyExchangeName) ? 1 : 0);
      const cap = this.options.maxReplyExchanges ?? DEFAULT_MAX_REPLY_EXCHANGES;
      if (exchange !== this.replyExchangeName && others >= cap) {
        this.options.logger.warn(
          `remote-control ${request.method}: not replying to exchange ${JSON.stringify(exchange.slice(0, 255))}: ${cap} reply exchanges besides ${this.replyExchangeName} are declared already (maxReplyExchanges)`,
        );
        return;
      }
      declared = this.app.broker.declareExchange({ name: exchange, type: 'direct', durable: false, autoDelete: false });
      declared.catch(() => this.declaredReplyExchanges.delete(exchange));
      this.declaredReplyExchanges.set(exchange, declared);
    }
    await declared;
    const encoded = encodeBody(data, this.options.serializer ?? 'json');
    await this.app.publishDirect(
      'remote-control reply',
      {
        body: encoded.body,
        contentType: encoded.contentType,
        contentEncoding: encoded.contentEncoding,
        headers: { ticket: request.ticket ?? null, clock: this.app.clock.forward() },
        properties: { deliveryMode: 1 },
      },
      { exchange, routingKey: routing_key },
    );
  }
}
