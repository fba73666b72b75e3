/**
 * RabbitMQ behind the `Broker` interface (amqplib), wire-compatible with kombu's py-amqp
 * transport: same declarations, same header typing, publisher confirms, one channel per
 * consumer, and recovery (reconnect with backoff, redeclare, re-consume) after a lost
 * connection.
 */
import { BehaviorSubject } from 'rxjs';
import type { ChannelModel } from 'amqplib';
import { consoleLogger, type CeleryLogger } from '../../common/logger.js';
import type {
  BrokerCapabilities,
  Broker,
  ConsumeOptions,
  Consumer,
  DelayedDelivery,
  DeliveryHandler,
  ExchangeDeclaration,
  PublishRoute,
  QueueDeclaration,
  PublishTicket,
  QueueType,
  TransportMessage,
} from '../broker.interface.js';
import type { ConnectionStatus } from '../connection-status.js';
import { backoffDelay, connectFirst, failoverOrder, type BackoffOptions } from './amqp-connect.js';
import { FAILOVER_STRATEGIES, type FailoverStrategy } from '../transport-options.js';
import { AmqpConsumer, type AmqpConsumerHost } from './amqp-consumer.js';
import { AmqpDeclarer, queueExchangeName } from './amqp-declarer.js';
import { DELAYED_DELIVERY_EXCHANGE, delayedBindingKey, delayedDeliveryTopology, delayedRoute } from './amqp-delayed-delivery.js';
import { AmqpBrokerClosedError, AmqpBrokerError, AmqpConfigError } from './amqp-errors.js';
import { claimTicket } from '../broker.interface.js';
import { AmqpPublisher } from './amqp-publisher.js';
import { DEFAULT_HEADER_LIMITS, installContentHeaderReader } from './amqp-content-header.js';
import { parseAmqpEndpoints, redactAmqpUrl, type AmqpEndpoint } from './amqp-url.js';
import type { SslOptions } from '../tls-options.js';

export interface AmqpBrokerOptions {
  logger?: CeleryLogger;
  /** AMQP heartbeat; default: what the server proposes (RabbitMQ: 60 s). 0 turns it off. */
  heartbeatSeconds?: number;
  /** shown in RabbitMQ's management UI / `rabbitmqctl list_connections user_provided_name` */
  connectionName?: string;
  /**
   * Celery's broker_failover_strategy for a list of URLs (a cluster's nodes): 'round-robin'
   * (default) reconnects to the next node after the one that was lost, 'shuffle' to a random one.
   */
  failoverStrategy?: FailoverStrategy;
  /** backoff between recovery rounds (each round tries every URL once, in the failover order) */
  reconnect?: Partial<BackoffOptions>;
  /** per-URL TCP/TLS connect timeout; default 10 s */
  connectTimeoutMs?: number;
  /** extra socket/TLS options for amqplib (Node's net/tls options) */
  socketOptions?: Record<string, unknown>;
  /**
   * Celery's broker_use_ssl: true, or TLS settings (CA, client certificate, verify mode, server
   * name), turns TLS on for every URL; a URL's own `ssl_*` query keys win. amqps:// alone is TLS
   * verified against Node's built-in CAs.
   */
  ssl?: boolean | SslOptions;
  /**
   * Resolve a publish only on RabbitMQ's publisher confirm (default true). false is Celery's
   * default (`broker_transport_options={'confirm_publish': False}`): a publish resolves once
   * written to the connection, on a plain channel (no confirm mode) as kombu's; a channel
   * RabbitMQ closes under such publishes is logged, not reported to the sender.
   */
  confirmPublish?: boolean;
  /**
   * Message headers nested deeper than this (tables and arrays) are refused: the message is
   * rejected, FAILURE stored when its id is readable, the connection stays up. Default 32.
   */
  maxHeaderDepth?: number;
  /** Message headers holding more values than this (at any depth) are refused likewise. Default 10,000. */
  maxHeaderValues?: number;
}

/** The pieces that belong to one open connection. */
interface Live {
  model: ChannelModel;
  declarer: AmqpDeclarer;
  publisher: AmqpPublisher;
}

interface Waiter {
  resolve(live: Live): void;
  reject(err: Error): void;
}

const CONFIRM_DRAIN_MS = 2000;

interface Gate {
  promise: Promise<void>;
  resolve(): void;
}

export class AmqpBroker implements Broker {
  readonly kind: string = 'amqp';
  readonly capabilities: BrokerCapabilities = { topicExchanges: true, consumerTimeout: true, disablePrefetch: false, priorities: 'higher-first' };
  private readonly logger: CeleryLogger;
  private readonly status = new BehaviorSubject<ConnectionStatus>('disconnected');
  readonly status$ = this.status.asObservable();

  private readonly urls: AmqpEndpoint[];
  private readonly backoff: BackoffOptions;
  private readonly connectTimeoutMs: number;
  private readonly confirmPublish: boolean;
  private readonly failoverStrategy: FailoverStrategy;
  /** the failover list's index of the node connected last: round-robin moves on from it */
  private connectedIndex?: number;

  /** the connection being set up or in use; its 'close' starts recovery */
  private model?: ChannelModel;
  private live?: Live;
  private connecting?: Promise<void>;
  private recovering = false;
  private closed = false;
  private wakeRecovery?: () => void;
  private renewing?: Promise<AmqpPublisher>;
  /** set while RabbitMQ blocks publishing (connection.blocked); resolved on unblock or close */
  private unblocked?: Gate;
  private blockedReason?: string;
  private waiters: Waiter[] = [];

  /** what was declared, in order, to redeclare after a reconnect (auto-delete queues vanish) */
  private readonly exchanges = new Map<string, ExchangeDeclaration>();
  private readonly queues = new Map<string, QueueDeclaration>();
  private readonly consumers = new Set<AmqpConsumer>();
  private readonly restartAttempts = new Map<AmqpConsumer, number>();
  private readonly consumerHost: AmqpConsumerHost;
  private readonly topologies = new Map<QueueType, Promise<void>>();

  /** kombu's native delayed delivery on this broker */
  readonly delayedDelivery: DelayedDelivery = {
    declareTopology: (queueType) => this.declareDelayedTopology(queueType),
    bindQueue: (queue) => this.bindDelayedQueue(queue),
    route: delayedRoute,
  };

  constructor(
    url: string | string[],
    private readonly options: AmqpBrokerOptions = {},
  ) {
    this.logger = options.logger ?? consoleLogger('AmqpBroker');
    this.urls = parseAmqpEndpoints(url, { heartbeatSeconds: options.heartbeatSeconds, ssl: options.ssl });
    this.backoff = { initialDelayMs: 200, maxDelayMs: 30_000, ...options.reconnect };
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.confirmPublish = options.confirmPublish ?? true;
    this.failoverStrategy = options.failoverStrategy ?? 'round-robin';
    if (!FAILOVER_STRATEGIES.includes(this.failoverStrategy)) {
      throw new AmqpConfigError(`broker_failover_strategy must be one of ${FAILOVER_STRATEGIES.join(', ')}, got ${String(this.failoverStrategy)}`);
    }
    this.consumerHost = {
      logger: this.logger,
      consumerCancelled: (consumer) => {
        this.consumers.delete(consumer);
        this.restartAttempts.delete(consumer);
      },
      consumerChannelLost: (consumer) => this.scheduleConsumerRestart(consumer),
    };
  }

  /** The current connection status (also the latest value of status$). */
  get currentStatus(): ConnectionStatus {
    return this.status.value;
  }

  /** Connect to the first reachable URL; rejects when none is (no retry before the first success). */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new AmqpBrokerClosedError('the RabbitMQ broker was closed; create a new AmqpBroker'));
    if (this.live) return Promise.resolve();
    if (!this.connecting) {
      this.connecting = this.firstConnect().finally(() => (this.connecting = undefined));
    }
    return this.connecting;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeRecovery?.();
    const closedError = new AmqpBrokerClosedError('the RabbitMQ broker was closed while the operation waited for a connection');
    for (const w of this.waiters.splice(0)) w.reject(closedError);
    const live = this.live;
    const model = this.model;
    this.live = undefined;
    this.model = undefined;
    // consumers first: closing their channels hands unsettled deliveries back to their queues
    await Promise.all([...this.consumers].map((c) => c.shutdown()));
    this.consumers.clear();
    if (live) await live.publisher.close(CONFIRM_DRAIN_MS);
    if (model) await model.close().catch(() => undefined);
    this.setStatus('closed');
  }

  async declareExchange(exchange: ExchangeDeclaration): Promise<void> {
    const live = await this.whenLive();
    await live.declarer.exchange(exchange);
    this.exchanges.set(exchange.name, exchange);
  }

  async declareQueue(queue: QueueDeclaration): Promise<void> {
    if (!queue.name) throw new AmqpBrokerError('declareQueue needs a queue name (server-named queues are not supported)');
    const live = await this.whenLive();
    await live.declarer.queue(queue);
    this.queues.set(queue.name, queue);
  }

  /** The celery_delayed_* levels and exchanges, once per queue type (durable: they outlive us). */
  private declareDelayedTopology(queueType: QueueType): Promise<void> {
    let declared = this.topologies.get(queueType);
    if (!declared) {
      declared = (async () => {
        const live = await this.whenLive();
        const topology = delayedDeliveryTopology(queueType);
        for (const exchange of topology.exchanges) await live.declarer.exchange(exchange);
        for (const queue of topology.queues) await live.declarer.queue(queue);
        for (const binding of topology.exchangeBindings) await live.declarer.exchangeBinding(binding);
      })();
      declared.catch(() => this.topologies.delete(queueType));
      this.topologies.set(queueType, declared);
    }
    return declared;
  }

  /** kombu's bind_queue_to_native_delayed_delivery_exchange (direct exchanges are skipped). */
  private async bindDelayedQueue(queue: QueueDeclaration): Promise<boolean> {
    const exchange = queueExchangeName(queue);
    if (exchange === '' || (queue.exchangeType ?? 'direct') === 'direct') return false;
    const key = delayedBindingKey(queue.routingKey ?? queue.name);
    const live = await this.whenLive();
    await live.declarer.exchangeBinding({ destination: exchange, source: DELAYED_DELIVERY_EXCHANGE, routingKey: key });
    await live.declarer.queueBinding(queue.name, exchange, key);
    return true;
  }

  /** The hot path: no declaration, no await before the write, confirms pipelined. */
  publish(message: TransportMessage, route: PublishRoute, ticket?: PublishTicket): Promise<void> {
    const live = this.live;
    if (live && live.publisher.usable && !this.blockedReason) return this.write(live.publisher, message, route, ticket);
    return this.publishWhenReady(message, route, ticket);
  }

  /**
   * RabbitMQ's reason while it blocks publishing on this connection (connection.blocked: a
   * memory or disk alarm); publishes are held, not written, until connection.unblocked.
   */
  get blocked(): string | undefined {
    return this.blockedReason;
  }

  private write(publisher: AmqpPublisher, message: TransportMessage, route: PublishRoute, ticket?: PublishTicket): Promise<void> {
    try {
      claimTicket(ticket);
    } catch (err) {
      return Promise.reject(err);
    }
    return publisher.publish(message, route);
  }

  async consume(queues: string[], options: ConsumeOptions, onDelivery: DeliveryHandler): Promise<Consumer> {
    const consumer = new AmqpConsumer(this.consumerHost, [...queues], options, onDelivery);
    const live = await this.whenLive();
    this.consumers.add(consumer);
    try {
      await consumer.start(live.model);
    } catch (err) {
      // a lost connection is recovery's business: the consumer restarts with the others
      if (this.live === live) {
        this.consumers.delete(consumer);
        throw err;
      }
    }
    return consumer;
  }

  // ---- consumer recovery while the connection stays up

  private scheduleConsumerRestart(consumer: AmqpConsumer): void {
    // the channel's 'close' fires before the connection's: let a connection loss show first
    const attempt = (this.restartAttempts.get(consumer) ?? 0) + 1;
    this.restartAttempts.set(consumer, attempt);
    const timer = setTimeout(() => void this.restartConsumer(consumer, attempt), backoffDelay(attempt, this.backoff));
    timer.unref();
  }

  // ---- connection lifecycle

  private async firstConnect(): Promise<void> {
    this.setStatus('connecting');
    let model: ChannelModel;
    try {
      let index: number;
      ({ model, index } = await connectFirst(this.urls, this.connectOptions(), failoverOrder(this.urls.length, this.failoverStrategy)));
      this.connectedIndex = index;
    } catch (err) {
      if (!this.closed) this.setStatus('disconnected');
      throw err;
    }
    try {
      await this.attach(model);
    } catch (err) {
      // the connection dropped during setup: recovery has taken over
      if (this.recovering) {
        await this.whenLive();
        return;
      }
      await model.close().catch(() => undefined);
      if (!this.closed) this.setStatus('disconnected');
      throw err;
    }
  }

  /** Set up a fresh connection: redeclare, open the publisher, restart consumers. */
  private async attach(model: ChannelModel): Promise<void> {
    if (this.closed) {
      await model.close().catch(() => undefined);
      throw new AmqpBrokerClosedError('the RabbitMQ broker was closed while connecting');
    }
    this.model = model;
    const headerLimits = {
      maxDepth: this.options.maxHeaderDepth ?? DEFAULT_HEADER_LIMITS.maxDepth,
      maxValues: this.options.maxHeaderValues ?? DEFAULT_HEADER_LIMITS.maxValues,
    };
    if (!installContentHeaderReader((model as unknown as { connection: unknown }).connection, headerLimits)) {
      this.logger.warn('this amqplib version does not take our content-header reader: py-amqp\'s 64-bit "L" header values will close the connection');
    }
    model.on('error', (err: Error) => this.logger.warn(`RabbitMQ connection error: ${err.message}`));
    model.on('close', (err?: Error) => this.onConnectionClosed(model, err));
    model.on('blocked', (reason: string) => this.onBlocked(reason));
    model.on('unblocked', () => this.onUnblocked('RabbitMQ cleared its alarm'));

    const declarer = new AmqpDeclarer(model, this.logger);
    for (const exchange of this.exchanges.values()) {
      await declarer.exchange(exchange).catch((err: Error) => this.logger.error(`redeclaring: ${err.message}`));
    }
    for (const queue of this.queues.values()) {
      await declarer.queue(queue).catch((err: Error) => this.logger.error(`redeclaring: ${err.message}`));
    }
    const publisher = await this.openPublisher(model);
    this.assertStillAttaching(model);
    const live: Live = { model, declarer, publisher };
    this.live = live;
    for (const consumer of this.consumers) {
      await consumer.start(model).then(
        () => this.restartAttempts.delete(consumer),
        (err: Error) => {
          if (this.live !== live) throw err;
          this.logger.error(err.message);
          this.scheduleConsumerRestart(consumer);
        },
      );
    }
    this.assertStillAttaching(model);
    this.setStatus('connected');
    for (const w of this.waiters.splice(0)) w.resolve(live);
  }

  /** close() or a connection loss during setup ends this attach. */
  private assertStillAttaching(model: ChannelModel): void {
    if (this.closed) throw new AmqpBrokerClosedError('the RabbitMQ broker was closed while connecting');
    if (this.model !== model) throw new AmqpBrokerError('the connection to RabbitMQ closed during setup');
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.status.value !== status) this.status.next(status);
  }

  private onConnectionClosed(model: ChannelModel, err?: Error): void {
    if (model === this.model) this.onUnblocked('the connection closed');
    if (this.closed || this.model !== model) return;
    this.model = undefined;
    this.live = undefined;
    for (const consumer of this.consumers) consumer.detach();
    this.logger.warn(`lost the connection to RabbitMQ${err ? ` (${err.message})` : ''}; reconnecting`);
    this.setStatus('disconnected');
    void this.recover();
  }

  /** Reconnect with backoff until it works or the broker is closed; one loop at a time. */
  private async recover(): Promise<void> {
    if (this.recovering) return;
    this.recovering = true;
    try {
      for (let attempt = 1; !this.closed; attempt++) {
        this.setStatus('reconnecting');
        await this.sleep(attempt === 1 ? 0 : backoffDelay(attempt - 1, this.backoff));
        if (this.closed) return;
        try {
          const order = failoverOrder(this.urls.length, this.failoverStrategy, this.connectedIndex);
          const { model, url, index } = await connectFirst(this.urls, this.connectOptions(), order);
          this.connectedIndex = index;
          await this.attach(model);
          this.logger.log(`reconnected to RabbitMQ at ${redactAmqpUrl(url)}`);
          return;
        } catch (err) {
          if (this.closed) return;
          const model = this.model;
          this.model = undefined;
          this.live = undefined;
          void model?.close().catch(() => undefined);
          this.logger.warn(`reconnect attempt ${attempt} failed: ${(err as Error).message}`);
        }
      }
    } finally {
      this.recovering = false;
    }
  }

  private async restartConsumer(consumer: AmqpConsumer, attempt: number): Promise<void> {
    const live = this.live;
    // a lost connection restarts every consumer itself
    if (!live || this.closed || !consumer.active || this.restartAttempts.get(consumer) !== attempt) return;
    try {
      for (const name of consumer.queues) {
        const queue = this.queues.get(name);
        if (queue) await live.declarer.queue(queue);
      }
      await consumer.start(live.model);
      this.restartAttempts.delete(consumer);
      this.logger.log(`consumer of ${consumer.queues.join(', ')} restarted`);
    } catch (err) {
      if (this.live !== live) return;
      this.logger.error(`restarting the consumer failed: ${(err as Error).message}`);
      this.scheduleConsumerRestart(consumer);
    }
  }

  private whenLive(): Promise<Live> {
    if (this.live) return Promise.resolve(this.live);
    if (this.closed) return Promise.reject(new AmqpBrokerClosedError('the RabbitMQ broker is closed; create a new AmqpBroker'));
    if (!this.connecting && !this.recovering && !this.model) {
      return Promise.reject(new AmqpBrokerError('the RabbitMQ broker is not connected; call connect() first'));
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private async publishWhenReady(message: TransportMessage, route: PublishRoute, ticket?: PublishTicket): Promise<void> {
    for (;;) {
      while (this.unblocked) await this.unblocked.promise;
      const live = await this.whenLive();
      const publisher = live.publisher.usable ? live.publisher : await this.renewPublisher(live);
      if (!this.unblocked) return this.write(publisher, message, route, ticket);
    }
  }

  /** connection.blocked: stop writing publishes (they wait in publishWhenReady) until unblocked. */
  private onBlocked(reason: string): void {
    if (this.unblocked) return;
    this.blockedReason = reason || 'no reason given';
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.unblocked = { promise, resolve };
    this.logger.warn(`RabbitMQ blocked publishing on this connection (${this.blockedReason}): publishes are held until it unblocks`);
  }

  /** connection.unblocked, or the connection went away (a new one starts unblocked). */
  private onUnblocked(why: string): void {
    const gate = this.unblocked;
    if (!gate) return;
    this.unblocked = undefined;
    this.blockedReason = undefined;
    this.logger.warn(`RabbitMQ unblocked publishing on this connection (${why}): held publishes are sent`);
    gate.resolve();
  }

  /** A server-closed publish channel (e.g. publishing to a missing exchange) is replaced. */
  private renewPublisher(live: Live): Promise<AmqpPublisher> {
    if (!this.renewing) {
      this.renewing = this.openPublisher(live.model)
        .then((publisher) => (live.publisher = publisher))
        .finally(() => (this.renewing = undefined));
    }
    return this.renewing;
  }

  /** The confirm channel, and with confirmPublish false the plain one the unconfirmed publishes go on. */
  private async openPublisher(model: ChannelModel): Promise<AmqpPublisher> {
    const confirms = await model.createConfirmChannel();
    return new AmqpPublisher(confirms, this.logger, this.confirmPublish ? undefined : await model.createChannel());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeRecovery = done;
    });
  }

  private connectOptions() {
    return {
      connectionName: this.options.connectionName,
      connectTimeoutMs: this.connectTimeoutMs,
      socketOptions: this.options.socketOptions,
    };
  }
}
