// RpcBackend: Celery's `rpc://` result backend, where states travel back as messages to the client's reply queue.
import { Observable, type Subscriber } from 'rxjs';
import { consoleLogger, type CeleryLogger } from '../../common/logger.js';
import { dumps } from '../../protocol/json.js';
import type { ResultMeta } from '../../protocol/result-meta.js';
import { AcceptContent, decodeBody } from '../../protocol/serialization.js';
import { isReady } from '../../protocol/states.js';
import type { Broker, Consumer, Delivery, PublishRoute, QueueDeclaration, TransportMessage } from '../broker.interface.js';
import type { ConnectionStatus } from '../connection-status.js';
import { BackendClosedError } from '../result-backend.errors.js';
import type { ResultBackend, ResultBackendCapabilities, StoreTarget } from '../result-backend.interface.js';
import { newOid } from '../result-backend.oid.js';

export interface RpcBackendOptions {
  logger?: CeleryLogger;
  /** Celery's result_expires in seconds (default 86400): the reply queue's x-expires; null = none */
  resultExpiresSeconds?: number | null;
  /** result_persistent: replies with delivery_mode 2 instead of 1 */
  persistent?: boolean;
  /** result_accept_content for replies; default ['json'] */
  accept?: AcceptContent;
  /** latest states kept for get() of ids nobody watches (Celery keeps them unbounded); default 10000 */
  maxCachedResults?: number;
  /** how replies are published; default the broker's publish (a Celery app passes its bounded one: maxPendingPublishes) */
  publish?: (message: TransportMessage, route: PublishRoute) => Promise<void>;
  /** the reply queue's name (its `oid`); default a fresh one, so two backends never share a queue */
  oid?: string;
}

/**
 * Celery's `rpc://` backend (celery/backends/rpc.py): states travel as messages to the client's
 * reply queue (named after its oid, the `reply_to` of every task it sends). Works over any
 * Broker, as kombu's rpc backend works over py-amqp and Redis alike. Nothing is stored: a client
 * only knows the states that reached its own queue.
 */
export class RpcBackend implements ResultBackend {
  readonly kind: string = 'rpc';
  readonly capabilities: ResultBackendCapabilities = { chords: false };
  /** the reply queue; one per backend instance (two in a process would split each other's replies) */
  readonly oid: string;
  readonly status$: Observable<ConnectionStatus>;
  private readonly logger: CeleryLogger;
  private readonly expiresMs: number | null;
  private readonly deliveryMode: 1 | 2;
  private readonly accept: AcceptContent;
  private readonly maxCached: number;
  /** latest state per task id, oldest first (Map order is the eviction order) */
  private readonly latest = new Map<string, ResultMeta>();
  private readonly watchers = new Map<string, Set<Subscriber<ResultMeta>>>();
  private consuming?: Promise<void>;
  private consumer?: Consumer;
  private closed = false;

  private readonly publish: NonNullable<RpcBackendOptions['publish']>;

  constructor(
    private readonly broker: Broker,
    options: RpcBackendOptions = {},
  ) {
    this.oid = options.oid ?? newOid();
    this.logger = options.logger ?? consoleLogger('RpcBackend');
    const expires = options.resultExpiresSeconds === undefined ? 86_400 : options.resultExpiresSeconds;
    // kombu's maybe_s_to_ms: int(seconds * 1000), only when set
    this.expiresMs = expires === null ? null : Math.trunc(expires * 1000);
    this.deliveryMode = options.persistent ? 2 : 1;
    this.accept = options.accept ?? new AcceptContent();
    this.maxCached = options.maxCachedResults ?? 10_000;
    this.publish = options.publish ?? ((message, route) => broker.publish(message, route));
    this.status$ = broker.status$;
  }

  /**
   * The reply queue as Celery's `RPCBackend.binding` declares it since its RabbitMQ 4.3 fix
   * (celery #10290): durable, auto-deleted when unused, with x-expires — RabbitMQ 4.3 refuses
   * transient non-exclusive queues, and an exclusive one cannot serve Celery's several connections.
   */
  get replyQueue(): QueueDeclaration {
    return {
      name: this.oid,
      exchange: '', // the anonymous exchange: no binding, routed by queue name
      durable: true,
      autoDelete: true,
      ...(this.expiresMs === null ? {} : { arguments: { 'x-expires': this.expiresMs } }),
    };
  }

  /** Connects the (shared, idempotent) broker; the reply queue waits for the first awaited task. */
  async connect(): Promise<void> {
    if (this.closed) throw new BackendClosedError('rpc result backend was closed; create a new RpcBackend');
    await this.broker.connect();
  }

  /** Stops consuming replies; the broker belongs to the app and stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const consumer = this.consumer ?? (await this.consuming?.then(() => this.consumer).catch(() => undefined));
    this.consumer = undefined;
    await consumer?.cancel().catch((err: Error) => this.logger.warn(`rpc result backend: cancelling the reply consumer failed: ${err.message}`));
    for (const [taskId, set] of this.watchers) {
      for (const s of [...set]) s.error(new BackendClosedError(`rpc result backend closed while waiting for task ${taskId}`, taskId));
    }
    this.watchers.clear();
  }

  /** Worker side (`RPCBackend.store_result`): publish the state to the caller's reply queue. */
  async store(meta: ResultMeta, target: StoreTarget): Promise<void> {
    const taskId = target.taskId;
    if (!target.replyTo) {
      // Celery returns silently too: a caller without reply_to cannot receive anything
      this.logger.debug?.(`task ${taskId} has no reply_to; ${meta.status} not sent (rpc backend)`);
      return;
    }
    // the keys of RPCBackend._to_result, in its order
    const body = { task_id: taskId, status: meta.status, result: meta.result, traceback: meta.traceback ?? null, children: meta.children ?? null };
    await this.publish(
      {
        body: Buffer.from(dumps(body), 'utf8'),
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        headers: {},
        properties: { correlationId: target.correlationId ?? taskId, deliveryMode: this.deliveryMode },
      },
      { exchange: '', routingKey: target.replyTo },
    );
  }

  /** Celery's `on_task_call`: the reply queue exists and is consumed before the task goes out. */
  onTaskCall(taskId: string): Promise<void> {
    if (this.closed) return Promise.reject(new BackendClosedError(`rpc result backend is closed; cannot await task ${taskId}`, taskId));
    return this.ensureConsuming();
  }

  watch(taskId: string): Observable<ResultMeta> {
    return new Observable<ResultMeta>((subscriber) => {
      if (this.closed) {
        subscriber.error(new BackendClosedError(`rpc result backend is closed; cannot watch task ${taskId}`, taskId));
        return;
      }
      let set = this.watchers.get(taskId);
      if (!set) this.watchers.set(taskId, (set = new Set()));
      set.add(subscriber);
      const current = this.latest.get(taskId);
      if (current) {
        subscriber.next(current);
        if (isReady(current.status)) subscriber.complete();
      }
      if (!subscriber.closed) this.ensureConsuming().catch((err: unknown) => subscriber.error(err));
      return () => {
        set.delete(subscriber);
        if (set.size === 0 && this.watchers.get(taskId) === set) this.watchers.delete(taskId);
      };
    });
  }

  /** The latest state that reached this client's reply queue, if any. */
  async get(taskId: string): Promise<ResultMeta | undefined> {
    await this.ensureConsuming();
    return this.latest.get(taskId);
  }

  async forget(taskId: string): Promise<void> {
    this.latest.delete(taskId);
  }

  private ensureConsuming(): Promise<void> {
    this.consuming ??= (async () => {
      await this.broker.declareQueue(this.replyQueue);
      // no_ack as Celery's ResultConsumer: a reply is a notification, not work to redo
      this.consumer = await this.broker.consume([this.oid], { prefetch: 0, noAck: true }, (d) => this.onReply(d));
      if (this.closed) await this.consumer.cancel();
    })().catch((err: unknown) => {
      this.consuming = undefined; // the next caller tries again
      throw err;
    });
    return this.consuming;
  }

  private onReply(delivery: Delivery): void {
    let body: Record<string, unknown>;
    try {
      body = decodeBody(delivery.message, this.accept) as Record<string, unknown>;
      if (!body || typeof body !== 'object' || typeof body.status !== 'string') throw new Error('no status');
    } catch (err) {
      this.logger.warn(`rpc result backend: dropped a reply on ${this.oid} that is not a Celery result (${(err as Error).message})`);
      return;
    }
    // RPCBackend._get_message_task_id: the correlation id first, the body for old senders
    const taskId = delivery.message.properties.correlationId ?? (body.task_id as string | undefined);
    if (!taskId) {
      this.logger.warn(`rpc result backend: dropped a reply on ${this.oid} without correlation_id or task_id`);
      return;
    }
    const meta = { ...body, task_id: (body.task_id as string | undefined) ?? taskId } as ResultMeta;
    this.remember(taskId, meta);
    const set = this.watchers.get(taskId);
    if (!set) return;
    for (const s of [...set]) {
      s.next(meta);
      if (isReady(meta.status)) s.complete();
    }
  }

  private remember(taskId: string, meta: ResultMeta): void {
    this.latest.delete(taskId);
    this.latest.set(taskId, meta);
    if (this.latest.size <= this.maxCached) return;
    for (const id of this.latest.keys()) {
      if (this.latest.size <= this.maxCached) break;
      if (!this.watchers.has(id)) this.latest.delete(id);
    }
  }
}
