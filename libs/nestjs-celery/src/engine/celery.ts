// The Celery app of the engine: sends tasks (send_task, with Celery's options), owns the broker and the
// result backend, gives AsyncResults and remote control — the plain-TS API under the Nest layer.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { CeleryLogger } from '../common/logger.js';
import { configureLogger } from '../common/log-settings.js';
import { redactUrl } from '../common/redact-url.js';
import { encodeBody, type SerializerName } from '../protocol/serialization.js';
import type { SignatureDict } from '../protocol/signature.js';
import { createTaskMessage, type TimeLimit } from '../protocol/task-message.js';
import type { Stamps } from '../protocol/stamps.js';
import {
  declarationMismatchOf,
  type Broker,
  type PublishRoute,
  type PublishTicket,
  type QueueDeclaration,
  type TransportMessage,
} from '../transport/broker.interface.js';
import { createBroker, createResultBackend } from '../transport/factory.js';
import type { ResultBackend } from '../transport/result-backend.interface.js';
import { AsyncResult } from './async-result.js';
import { DEFAULT_QUEUE, type CeleryOptions } from './celery.options.js';
import type { ConnectionStatus } from '../transport/connection-status.js';
import {
  BrokerUnavailableError,
  DeclarationLimitError,
  ImproperlyConfiguredError,
  InvalidTaskOptionsError,
  PublishBackpressureError,
  PublishTimeoutError,
} from './errors.js';
import { TaskQueues } from './task-queues.js';
import { TaskRouter } from './task-routes.js';
import { PublishDeadlines } from './publish-deadlines.js';
import { Control } from './control/control.js';
import { MailboxClient } from './control/mailbox-client.js';
import { LamportClock } from './events/lamport-clock.js';
import { connectWithRetry } from './connection-retry.js';

/**
 * Where the app's first connection stands (health checks read it): 'idle' before connect(),
 * 'starting' while retrying, 'up' once broker and backend answered, 'down' when it gave up.
 */
export interface StartupState {
  state: 'idle' | 'starting' | 'up' | 'down';
  /** the retry under way (0 on the first attempt) */
  retry: number;
  /** the last connection error, while starting or down */
  error?: string;
}

/** A broker/backend URL (or failover list) with its password masked as '**'; `fallback` for objects. */
function displayUrl(url: unknown, fallback: string): string {
  if (typeof url === 'string') return redactUrl(url, '**');
  if (Array.isArray(url)) return redactUrl(url.join(';'), '**');
  return fallback;
}
import { createTaskSignals } from './signals/observers.js';
import type { TaskSignals } from './signals/task-signals.js';

/** Options of one `sendTask`, named after Celery's `apply_async` options. */
export interface SendTaskOptions {
  taskId?: string;
  /** seconds from now */
  countdown?: number;
  eta?: Date;
  /** seconds from now, or an absolute time */
  expires?: number | Date;
  queue?: string;
  exchange?: string;
  routingKey?: string;
  priority?: number;
  /** Celery's `serializer`: how this message's body is encoded (json, msgpack, yaml); default the task's, else taskSerializer */
  serializer?: SerializerName;
  /** hard time limit, seconds */
  timeLimit?: number;
  /** soft time limit, seconds */
  softTimeLimit?: number;
  /** don't store (and don't wait for) the result */
  ignoreResult?: boolean;
  shadow?: string;
  retries?: number;
  parentId?: string;
  rootId?: string;
  groupId?: string;
  groupIndex?: number;
  /** extra message headers */
  headers?: Record<string, unknown>;
  /** Celery 5.3+ stamps (`stamped_headers` / `stamps` headers): a worker keeps them on retries, Python's revoke_by_stamped_headers matches them */
  stamps?: Stamps;
  link?: SignatureDict[];
  linkError?: SignatureDict[];
  chain?: SignatureDict[];
  chord?: SignatureDict;
  /** the reply_to property; default this app's oid (a frozen signature carries its client's) */
  replyTo?: string;
  /**
   * Celery's on_task_call before publishing (default true): subscribe so the result cannot be
   * missed. A worker forwarding canvas steps does not wait for them and passes false.
   */
  awaitResult?: boolean;
}

/** Every key of SendTaskOptions: anything else given as a send option is refused. */
const SEND_TASK_OPTION_KEYS: Record<keyof SendTaskOptions, true> = {
  taskId: true,
  countdown: true,
  eta: true,
  expires: true,
  queue: true,
  exchange: true,
  routingKey: true,
  priority: true,
  serializer: true,
  timeLimit: true,
  softTimeLimit: true,
  ignoreResult: true,
  shadow: true,
  retries: true,
  parentId: true,
  rootId: true,
  groupId: true,
  groupIndex: true,
  headers: true,
  link: true,
  linkError: true,
  chain: true,
  chord: true,
  replyTo: true,
  awaitResult: true,
  stamps: true,
};

/**
 * Refuse send options that are not a plain object or carry a key SendTaskOptions does not have
 * (a typo, Celery's snake_case spelling, or keys copied from a request body), instead of
 * silently ignoring them.
 */
export function checkSendTaskOptions(options: unknown): asserts options is SendTaskOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidTaskOptionsError(
      `task options must be an object such as { countdown: 10, queue: 'math' }, got ${Array.isArray(options) ? 'an array' : options === null ? 'null' : typeof options}`,
    );
  }
  const unknown = Object.keys(options).filter((key) => !Object.hasOwn(SEND_TASK_OPTION_KEYS, key));
  if (unknown.length === 0) return;
  const named = unknown.slice(0, 5).map((key) => {
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const shown = JSON.stringify(key.slice(0, 64));
    return camel !== key && Object.hasOwn(SEND_TASK_OPTION_KEYS, camel) ? `${shown} (did you mean "${camel}"?)` : shown;
  });
  throw new InvalidTaskOptionsError(
    `unknown task option${unknown.length > 1 ? 's' : ''} ${named.join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}; ` +
      `known options: ${Object.keys(SEND_TASK_OPTION_KEYS).join(', ')}`,
  );
}

/**
 * A task's own send options, Celery's task attributes (`@app.task(queue=…, serializer=…)`): every
 * send of the task takes them where the send's options leave them unset, before task_routes are
 * asked, so the precedence is Celery's: the send's options, then the task's, then the route, then
 * the app's defaults (task_default_queue, task_serializer).
 */
export type TaskSendDefaults = Pick<SendTaskOptions, 'queue' | 'serializer'>;

/** Where an app finds a task's TaskSendDefaults by name (its worker's registry, a Nest app's `@CeleryTask` handlers). */
export type TaskSendDefaultsLookup = (name: string) => TaskSendDefaults | undefined;

/**
 * The client engine, like Python's `Celery` app: owns a broker and a result backend, sends
 * tasks and hands out AsyncResults. Usable without Nest.
 */
export class Celery {
  readonly broker: Broker;
  readonly backend: ResultBackend | null;
  readonly defaultQueue: string;
  /** reply_to of every message (Celery always sets it): the RPC queue or a per-app oid */
  readonly oid: string;
  private readonly logger: CeleryLogger;
  private readonly declared = new Map<string, Promise<void>>();
  private connecting?: Promise<void>;
  /** the first connection's progress (connectWithRetry) */
  readonly startup: StartupState = { state: 'idle', retry: 0 };
  /** ends the startup retry waits on close() */
  private closing = new AbortController();
  private readonly origin = `gen${process.pid}@${hostname()}`;
  private brokerStatus: ConnectionStatus = 'connecting';
  /** publishes waiting for the broker to come back */
  private held = 0;
  /** publishes awaiting the broker's confirm, in any state (maxPendingPublishes) */
  private pending = 0;
  private readonly deadlines: PublishDeadlines;
  /** the app's logical clock, forwarded by events and remote control (Celery's `app.clock`) */
  readonly clock = new LamportClock();
  private controlClient?: Control;
  /** the app's queues as Celery declares them (Celery's `app.amqp.queues`) */
  readonly queues: TaskQueues;
  /** task_routes (Celery's `app.amqp.router`): `router.route(name, args, kwargs, options)` is where a send would go */
  readonly router: TaskRouter;
  /** the observers of this app's tasks (metrics, tracing, yours): Celery's signals, called by its client and workers */
  readonly signals: TaskSignals;
  /** where this app's tasks' own send options come from (addTaskDefaults), asked in order */
  private readonly taskDefaults: TaskSendDefaultsLookup[] = [];

  constructor(readonly options: CeleryOptions = {}) {
    // the transports log what messages carry too (envelope previews, error texts)
    this.logger = configureLogger(options.logger, 'Celery', options);
    for (const kind of ['control', 'event'] as const) {
      if (options[`${kind}QueueExclusive`] === true && options[`${kind}QueueDurable`] === true) {
        throw new ImproperlyConfiguredError(
          `${kind}QueueExclusive and ${kind}QueueDurable cannot both be true (exclusive queues are deleted with their connection and cannot be durable)`,
        );
      }
    }
    const factoryOptions = {
      logger: this.logger,
      resultExpires: options.resultExpires,
      confirmPublish: options.confirmPublish,
      brokerFailoverStrategy: options.brokerFailoverStrategy,
      maxHeaderDepth: options.maxHeaderDepth,
      maxHeaderValues: options.maxHeaderValues,
      brokerUseSsl: options.brokerUseSsl,
      redisBackendUseSsl: options.redisBackendUseSsl,
      brokerTransportOptions: options.brokerTransportOptions,
      resultBackendTransportOptions: options.resultBackendTransportOptions,
      // result replies over rpc:// count in maxPendingPublishes like the app's other publishes
      publish: (message: TransportMessage, route: PublishRoute) => this.publishDirect('rpc result reply', message, route),
    };
    this.broker =
      typeof options.broker === 'object' && !Array.isArray(options.broker) ? options.broker : createBroker(options.broker ?? 'memory://', factoryOptions);
    this.backend =
      options.backend == null
        ? null
        : typeof options.backend === 'string'
          ? createResultBackend(options.backend, this.broker, factoryOptions)
          : options.backend;
    this.defaultQueue = options.taskDefaultQueue ?? DEFAULT_QUEUE;
    this.queues = new TaskQueues(options, this.defaultQueue);
    this.router = new TaskRouter(options.taskRoutes);
    this.oid = this.backend?.oid ?? randomUUID();
    this.signals = createTaskSignals(options, this.broker, this.backend);
    this.broker.status$.subscribe((status) => (this.brokerStatus = status));
    this.deadlines = new PublishDeadlines(options.publishTimeoutMs ?? 30_000);
  }

  /**
   * Connect broker and backend (idempotent), retrying each on startup as Celery does
   * (brokerConnectionRetryOnStartup, brokerConnectionMaxRetries, brokerConnectionTimeout); `role`
   * starts each retry line: 'consumer' for a worker, 'producer' for a client.
   */
  connect(role = 'producer'): Promise<void> {
    this.connecting ??= (async () => {
      Object.assign(this.startup, { state: 'starting', retry: 0, error: undefined });
      const retry = {
        retryOnStartup: this.options.brokerConnectionRetryOnStartup,
        maxRetries: this.options.brokerConnectionMaxRetries,
        timeoutSeconds: this.options.brokerConnectionTimeout,
        logger: this.logger,
        signal: this.closing.signal,
        onRetry: (n: number, error: unknown) => Object.assign(this.startup, { retry: n, error: (error as Error)?.message ?? String(error) }),
      };
      await connectWithRetry(() => this.broker.connect(), { ...retry, role, url: this.brokerUrl });
      const backend = this.backend;
      if (backend) await connectWithRetry(() => backend.connect(), { ...retry, role: 'result backend', url: this.backendUrl });
      Object.assign(this.startup, { state: 'up', retry: 0, error: undefined });
    })().catch((error: unknown) => {
      // a failed attempt is not cached: the next send tries again
      this.connecting = undefined;
      Object.assign(this.startup, { state: 'down', error: (error as Error)?.message ?? String(error) });
      throw error;
    });
    return this.connecting;
  }

  /** The broker's URL for logs and the banner, password masked as Celery shows it ('**'). */
  get brokerUrl(): string {
    return displayUrl(this.options.broker, this.broker.kind);
  }

  /** The result backend's URL likewise ('disabled' without one). */
  get backendUrl(): string {
    return displayUrl(this.options.backend, this.backend ? 'custom' : 'disabled');
  }

  /** Remote control of workers, Python's and ours (Celery's `app.control`): ping, revoke, inspect(). */
  get control(): Control {
    this.controlClient ??= new Control(
      new MailboxClient(this, {
        serializer: this.options.taskSerializer,
        acceptContent: this.options.acceptContent,
        queueFlags: { exclusive: this.options.controlQueueExclusive, durable: this.options.controlQueueDurable },
        logger: this.logger,
      }),
    );
    return this.controlClient;
  }

  /** Close the broker and result backend connections (and the remote-control mailbox), Celery's `app.close()`. */
  async close(): Promise<void> {
    this.closing.abort();
    this.closing = new AbortController();
    await this.controlClient?.close();
    await this.backend?.close();
    await this.broker.close();
    this.connecting = undefined;
    Object.assign(this.startup, { state: 'idle', retry: 0, error: undefined });
    this.declared.clear();
  }

  /** The queue as Celery declares it for this app's settings (by default a durable direct exchange of the same name). */
  queueDeclaration(name: string): QueueDeclaration {
    return this.queues.declaration(name);
  }

  /** Declare a queue once per app (Celery declares before the first publish). */
  declareQueue(name: string): Promise<void> {
    let p = this.declared.get(name);
    if (!p) {
      const limit = this.options.maxDeclaredQueues ?? 1000;
      if (this.declared.size >= limit) return Promise.reject(new DeclarationLimitError(name, limit));
      const queue = this.queueDeclaration(name);
      p = this.broker.declareQueue(queue).catch((error: unknown) => {
        const mismatch = declarationMismatchOf(error);
        throw mismatch ? this.queues.mismatchError(queue, mismatch, error) : error;
      });
      p.catch(() => this.declared.delete(name));
      this.declared.set(name, p);
    }
    return p;
  }

  /**
   * Make the tasks `lookup` knows send with their own queue and serializer (Celery's task
   * attributes) when a send leaves them unset: a worker adds its registered tasks, a Nest client
   * its app's `@CeleryTask` handlers. Lookups added first are asked first.
   */
  addTaskDefaults(lookup: TaskSendDefaultsLookup): void {
    this.taskDefaults.push(lookup);
  }

  /** The send's options with the task's own queue and serializer under them (Celery's `_get_exec_options`). */
  private withTaskDefaults(name: string, options: SendTaskOptions): SendTaskOptions {
    for (const lookup of this.taskDefaults) {
      const defaults = lookup(name);
      if (!defaults) continue;
      const merged = { ...options };
      if (merged.queue === undefined && defaults.queue !== undefined) merged.queue = defaults.queue;
      if (merged.serializer === undefined && defaults.serializer !== undefined) merged.serializer = defaults.serializer;
      return merged;
    }
    return options;
  }

  /** Send a task by name, as Python's `app.send_task`. Resolves once the broker confirmed it. */
  async sendTask<T = unknown>(
    name: string,
    args: unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options: SendTaskOptions = {},
  ): Promise<AsyncResult<T>> {
    checkSendTaskOptions(options);
    options = this.router.route(name, args, kwargs, this.withTaskDefaults(name, options));
    const id = options.taskId ?? randomUUID();
    if (this.startup.state === 'starting' && this.options.publishWhileDisconnected === 'fail')
      throw new BrokerUnavailableError(name, `the broker is not connected yet (retry ${this.startup.retry}: ${this.startup.error})`);
    // while the first connection is retried, a send waits for it as for a broker outage: within publishTimeoutMs
    if (this.startup.state !== 'up') await this.deadlines.track(this.connect(), () => new PublishTimeoutError(id, this.deadlines.timeoutMs, false));
    const queue = options.queue ?? this.defaultQueue;
    const now = new Date();
    const eta = options.eta ?? (options.countdown !== undefined ? new Date(now.getTime() + options.countdown * 1000) : null);
    // Celery 5.5 sends a countdown to a quorum queue through celery_delayed_* unless an exchange other
    // than the queue's own is named (a retry names the exchange its message came through: its own)
    const ownExchange = options.exchange === undefined || options.exchange === (this.queueDeclaration(queue).exchange ?? queue);
    const delayed = eta && ownExchange ? this.delayedRoute(queue, options.routingKey, eta, now) : undefined;
    const route = delayed ?? this.route(queue, options);
    const expires = options.expires === undefined ? null : options.expires instanceof Date ? options.expires : new Date(now.getTime() + options.expires * 1000);
    const timeLimit: TimeLimit = [options.timeLimit ?? null, options.softTimeLimit ?? null];
    const message = createTaskMessage({
      id,
      task: name,
      args,
      kwargs,
      eta,
      expires,
      retries: options.retries,
      timeLimit,
      rootId: options.rootId,
      parentId: options.parentId,
      group: options.groupId,
      groupIndex: options.groupIndex,
      shadow: options.shadow,
      ignoreResult: options.ignoreResult,
      replyTo: options.replyTo ?? this.oid,
      priority: options.priority,
      origin: this.origin,
      callbacks: options.link ?? null,
      errbacks: options.linkError ?? null,
      chain: options.chain ?? null,
      chord: options.chord ?? null,
      headers: options.headers,
      stamps: options.stamps,
      now,
    });
    const encoded = encodeBody(message.body, options.serializer ?? this.options.taskSerializer ?? 'json', this.options.taskCompression);
    const headers: Record<string, unknown> = encoded.compression ? { ...message.headers, compression: encoded.compression } : message.headers;
    const waitForResult = this.backend && !options.ignoreResult && options.awaitResult !== false;
    // Celery's on_task_call: the subscription is requested before the task is published, so no
    // result can be missed. Where watch() catches up with a GET once subscribed (Redis, memory),
    // a result stored before the SUBSCRIBE lands is read by that GET, so the publish need not
    // wait for the subscription's round trip.
    const subscribed = waitForResult ? this.backend.onTaskCall(id) : undefined;
    if (subscribed && !this.backend!.watchCatchesUp) await subscribed;
    subscribed?.catch(() => undefined); // awaited below; a failed publish must not leave it unhandled
    // the publish timeout covers declaring the queue too: on a Redis that is down the declaration
    // would otherwise wait in ioredis for its reconnect attempts (over a minute), whatever the timeout
    const declared = (async () => {
      await this.declareQueue(queue);
      if (delayed) await this.setUpDelayedDelivery(queue);
    })();
    const afterPublish = this.signals.enabled ? this.signals.beforeTaskPublish({ task: name, id, queue, ...route, headers }) : undefined;
    try {
      await this.deadlines.track(declared, () => new PublishTimeoutError(id, this.deadlines.timeoutMs, false));
      await this.publish(
        name,
        id,
        { body: encoded.body, contentType: encoded.contentType, contentEncoding: encoded.contentEncoding, headers, properties: message.properties },
        route,
      );
    } catch (error) {
      afterPublish?.(error);
      throw error;
    }
    afterPublish?.();
    // the backend can still refuse the subscription: surface that to the sender
    await subscribed;
    return new AsyncResult<T>(id, this.backend, null, this);
  }

  /**
   * Publish with the outage policy (fail fast, or hold a bounded number until the broker is
   * back) under one bound on unconfirmed publishes in every state; a publish that times out
   * while still held is cancelled, so it is never sent after its failure was reported.
   */
  private async publish(name: string, id: string, message: TransportMessage, route: PublishRoute): Promise<void> {
    const outage = this.brokerStatus !== 'connected';
    if (outage) {
      if (this.options.publishWhileDisconnected === 'fail')
        throw new BrokerUnavailableError(name, `the broker is ${this.brokerStatus} (publishWhileDisconnected: 'fail')`);
      const limit = this.options.publishBufferLimit ?? 1000;
      if (this.held >= limit)
        throw new BrokerUnavailableError(name, `the broker is ${this.brokerStatus} and ${limit} publishes are already waiting for it (publishBufferLimit)`);
    }
    this.admit(name);
    if (outage) this.held++;
    this.pending++;
    const ticket: PublishTicket = { cancelled: false, written: false };
    try {
      await this.deadlines.track(this.broker.publish(message, route, ticket), () => {
        ticket.cancelled = true;
        return new PublishTimeoutError(id, this.deadlines.timeoutMs, ticket.written);
      });
    } finally {
      this.pending--;
      if (outage) this.held--;
    }
  }

  /** maxPendingPublishes: refuse a publish at once while that many await the broker's confirm. */
  private admit(what: string): void {
    const maxPending = this.options.maxPendingPublishes ?? 10_000;
    if (this.pending >= maxPending) {
      const blocked = this.broker.blocked;
      throw new PublishBackpressureError(what, maxPending, blocked ? `RabbitMQ blocked publishing: ${blocked}` : `broker ${this.brokerStatus}`);
    }
  }

  /**
   * The app's own publishes besides tasks (events, remote-control requests and replies, RPC
   * result replies, dead-lettered and republished messages) under the same maxPendingPublishes
   * bound as task sends: while the broker blocks or stalls they fail at once with
   * PublishBackpressureError instead of piling up in memory. Their callers own the fate of a
   * refused one (an event is dropped, a delivery is requeued, a result store fails).
   * @internal
   */
  async publishDirect(what: string, message: TransportMessage, route: PublishRoute): Promise<void> {
    this.admit(what);
    this.pending++;
    try {
      await this.broker.publish(message, route);
    } finally {
      this.pending--;
    }
  }

  /** An AsyncResult for a task id sent elsewhere. */
  asyncResult<T = unknown>(id: string): AsyncResult<T> {
    return new AsyncResult<T>(id, this.backend, null, this);
  }

  /** Celery publishes to the default exchange with the queue as routing key unless told otherwise. */
  private route(queue: string, options: SendTaskOptions): PublishRoute {
    if (options.exchange !== undefined) return { exchange: options.exchange, routingKey: options.routingKey ?? queue };
    if (options.routingKey !== undefined) return { exchange: queue, routingKey: options.routingKey };
    return { exchange: '', routingKey: queue };
  }

  /**
   * Celery 5.5+ `send_task`: with quorum queues in the app, a countdown/ETA of a whole second or
   * more to a queue whose exchange is not direct goes through native delayed delivery (the broker
   * holds it, not the worker). Direct exchanges cannot carry it: the worker holds those, as always.
   */
  private delayedRoute(queue: string, routingKey: string | undefined, eta: Date, now: Date): PublishRoute | undefined {
    const delayed = this.broker.delayedDelivery;
    if (!delayed || !this.queues.usesQuorumQueues) return undefined;
    const declaration = this.queueDeclaration(queue);
    if ((declaration.exchangeType ?? 'direct') === 'direct') {
      this.warnDirectOnce(declaration.exchange ?? queue);
      return undefined;
    }
    const seconds = Math.trunc((eta.getTime() - now.getTime()) / 1000);
    if (seconds < 1) return undefined;
    try {
      return delayed.route(seconds, routingKey ?? declaration.routingKey ?? queue);
    } catch {
      return undefined; // beyond the 28 levels (8.5 years): the worker holds it
    }
  }

  private readonly delayedBound = new Map<string, Promise<void>>();

  /**
   * Native delayed delivery needs its topology and the queue's bindings; workers set them up,
   * and so does a client before its first delayed publish to a queue, so nothing is lost when no
   * worker has started yet (the declarations are kombu's: idempotent for the whole fleet).
   */
  setUpDelayedDelivery(queue: string): Promise<void> {
    const delayed = this.broker.delayedDelivery;
    if (!delayed) return Promise.resolve();
    let bound = this.delayedBound.get(queue);
    if (!bound) {
      bound = (async () => {
        await this.declareQueue(queue);
        await delayed.declareTopology(this.queues.delayedDeliveryQueueType);
        await delayed.bindQueue(this.queueDeclaration(queue));
      })();
      bound.catch(() => this.delayedBound.delete(queue));
      this.delayedBound.set(queue, bound);
    }
    return bound;
  }

  private readonly warnedDirect = new Set<string>();

  private warnDirectOnce(exchange: string): void {
    if (this.warnedDirect.has(exchange)) return;
    this.warnedDirect.add(exchange);
    this.logger.warn(
      `'${exchange}' is a direct exchange: native delayed delivery needs a topic or fanout exchange ` +
        '(taskDefaultExchangeType / taskQueues[…].exchangeType), so countdown/ETA tasks to it wait in the worker until due',
    );
  }
}
