/**
 * The Redis broker, wire-compatible with kombu 5.2's Redis transport so Python Celery clients
 * and workers share queues, bindings, broadcasts and the unacked/visibility-timeout recovery
 * with us (kombu/transport/redis.py, kombu/transport/virtual/base.py).
 */
import { DEFAULT_HEADER_LIMITS } from '../../../protocol/nesting.js';
import { randomUUID } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import { BehaviorSubject } from 'rxjs';
import { consoleLogger, type CeleryLogger } from '../../../common/logger.js';
import { encodeEnvelope } from '../../../protocol/kombu-envelope.js';
import type {
  BrokerCapabilities,
  Broker,
  ConsumeOptions,
  Consumer,
  DeliveryHandler,
  ExchangeDeclaration,
  PublishRoute,
  QueueDeclaration,
  TransportMessage,
  PublishTicket,
} from '../../broker.interface.js';
import { claimTicket } from '../../broker.interface.js';
import type { ConnectionStatus } from '../../connection-status.js';
import { RedisConnection, refuseRedisCluster } from '../redis-connection.js';
import { RedisConsumer, type ConsumerContext } from './redis-consumer.js';
import { bindingFor, bindingMember, KombuKeys, routeToQueues } from './redis-keys.js';
import { KombuDeclarations, KombuRouter } from './redis-router.js';
import { kombuScripts } from './redis-scripts.js';
import { KombuAckEmulation } from './redis-unacked.js';
import { parseRedisUrls, type RedisEndpoint, type SentinelOptions } from '../redis-url.js';
import { tlsErrorHint, type SslOptions } from '../../tls-options.js';

export interface RedisBrokerOptions {
  logger?: CeleryLogger;
  /** kombu `visibility_timeout`: unacked deliveries older than this are restored (default 3600 s) */
  visibilityTimeoutSeconds?: number;
  /**
   * How often this process runs kombu's `restore_visible` while it consumes with acks (default
   * 100 s: kombu ticks every 10 s and acts every 10th tick). 0 disables it.
   */
  restoreIntervalSeconds?: number;
  /** restore into the message's priority list instead of the bare queue key (kombu: bare key) */
  priorityRestore?: boolean;
  /** kombu `global_keyprefix`: prefixes every key and pub/sub channel (kombu 5.2.4) */
  globalKeyprefix?: string;
  /** Redis Sentinel, for sentinel:// URLs: the master's name and the sentinels' credentials */
  sentinel?: SentinelOptions;
  /** kombu's BRPOP timeout in seconds (default 1) */
  pollTimeoutSeconds?: number;
  /** extra ioredis options for every connection (timeouts, …) */
  redisOptions?: RedisOptions;
  /** message headers nested deeper than this are refused (rejected, FAILURE stored when the id is readable); default 32 */
  maxHeaderDepth?: number;
  /** message headers holding more values than this are refused likewise; default 10,000 */
  maxHeaderValues?: number;
  /**
   * Celery's broker_use_ssl: true, or TLS settings (caCerts, certfile, keyfile, certReqs …),
   * turns TLS on for every URL; a URL's own `ssl_*` query keys win. rediss:// alone is TLS
   * verified against Node's built-in CAs.
   */
  ssl?: boolean | SslOptions;
}

export class RedisBrokerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisBrokerError';
  }
}

/** State shared by everything that talks to Redis once connected. */
interface Session {
  client: Redis;
  endpoint: RedisEndpoint;
  keys: KombuKeys;
  router: KombuRouter;
  ackEmulation: KombuAckEmulation;
}

export class RedisBroker implements Broker {
  readonly kind: string = 'redis';
  readonly capabilities: BrokerCapabilities = { topicExchanges: false, consumerTimeout: false, disablePrefetch: true, priorities: 'lower-first' };
  /** Celery's worker_disable_prefetch is a Redis feature */
  private readonly status = new BehaviorSubject<ConnectionStatus>('disconnected');
  readonly status$ = this.status.asObservable();
  private readonly endpoints: RedisEndpoint[];
  private readonly logger: CeleryLogger;
  private readonly options: Required<Omit<RedisBrokerOptions, 'logger' | 'redisOptions' | 'ssl' | 'sentinel'>> & { redisOptions: RedisOptions };
  private session?: Session;
  private connecting?: Promise<Session>;
  private readonly consumers = new Set<RedisConsumer>();
  /** cancelled by their owner, possibly still holding deliveries (dropped once they hold none) */
  private readonly cancelled = new Set<RedisConsumer>();
  /** exchange types and fanout bindings: kombu keeps them in process memory only */
  private readonly declarations = new KombuDeclarations();
  /** auto-delete queues bound to fanout exchanges: kombu removes their bindings on close */
  private readonly autoDeleteBindings: { exchange: string; member: string; queue: string }[] = [];
  private restoreTimer?: NodeJS.Timeout;
  private restoring = false;
  private closing = false;

  constructor(url: string | string[], options: RedisBrokerOptions = {}) {
    this.endpoints = parseRedisUrls(url, options.ssl, options.sentinel);
    this.logger = options.logger ?? consoleLogger('RedisBroker');
    this.options = {
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 3600,
      restoreIntervalSeconds: options.restoreIntervalSeconds ?? 100,
      priorityRestore: options.priorityRestore ?? false,
      globalKeyprefix: options.globalKeyprefix ?? '',
      pollTimeoutSeconds: options.pollTimeoutSeconds ?? 1,
      redisOptions: options.redisOptions ?? {},
      maxHeaderDepth: options.maxHeaderDepth ?? DEFAULT_HEADER_LIMITS.maxDepth,
      maxHeaderValues: options.maxHeaderValues ?? DEFAULT_HEADER_LIMITS.maxValues,
    };
  }

  /** Key and channel names in use (after connect(), when the db number is known). */
  get keys(): KombuKeys {
    return this.requireSession().keys;
  }

  async connect(): Promise<void> {
    if (this.session) return;
    this.closing = false;
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    await this.connecting;
  }

  async close(): Promise<void> {
    if (this.closing && !this.session) return;
    this.closing = true;
    this.stopRestoreTimer();
    const session = this.session ?? (await this.connecting?.catch(() => undefined));
    // cancelled consumers still holding deliveries are restored too (kombu: at channel close)
    const consumers = [...this.consumers, ...this.cancelled];
    this.consumers.clear();
    this.cancelled.clear();
    await Promise.all(consumers.map((c) => c.cancel()));
    await Promise.all(consumers.map((c) => c.drain()));
    if (session) {
      let restored = 0;
      for (const c of consumers) restored += await c.restoreHeld();
      if (restored) this.logger.log(`restored ${restored} unacknowledged message(s) to their queues on close`);
      await this.removeAutoDeleteBindings(session);
      await session.client.quit().catch(() => session.client.disconnect());
    }
    this.session = undefined;
    this.status.next('closed');
  }

  async declareExchange(exchange: ExchangeDeclaration): Promise<void> {
    this.declarations.declareExchange(exchange.name, exchange.type);
  }

  /** kombu `Queue.declare` on Redis: the exchange type in memory, the binding in `_kombu.binding.<exchange>`. */
  async declareQueue(queue: QueueDeclaration): Promise<void> {
    const { router } = this.requireSession();
    const exchange = queue.exchange ?? queue.name;
    if (exchange === '') return; // default exchange: Redis lists need no declaration
    this.declarations.declareExchange(exchange, queue.exchangeType ?? 'direct');
    const routingKey = queue.routingKey ?? queue.name;
    await router.bind(exchange, routingKey, queue.name);
    if (queue.autoDelete && router.typeOf(exchange) === 'fanout') {
      const member = bindingMember(bindingFor('fanout', routingKey, queue.name));
      if (!this.autoDeleteBindings.some((b) => b.exchange === exchange && b.member === member)) {
        this.autoDeleteBindings.push({ exchange, member, queue: queue.name });
      }
    }
  }

  /**
   * kombu `basic_publish`: '' → LPUSH to the routing key's list (priority-step key); a named
   * direct/topic exchange → LPUSH to every queue its bindings match (none: dropped, as kombu
   * does); fanout → PUBLISH. Resolves once Redis replied.
   */
  async publish(message: TransportMessage, route: PublishRoute, ticket?: PublishTicket): Promise<void> {
    const { client, keys, router } = this.requireSession();
    // while Redis is away, wait here rather than in ioredis' offline queue, which cannot take
    // back a command: a publish its sender gave up on (PublishTimeoutError) is then never sent
    if (client.status !== 'ready') await whenReady(client);
    claimTicket(ticket);
    const envelope = encodeEnvelope(message, { exchange: route.exchange, routing_key: route.routingKey }, randomUUID());
    const priority = message.properties.priority;
    if (!route.exchange) {
      if (!route.routingKey) {
        throw new RedisBrokerError('cannot publish to the default exchange without a routing key: set it to the queue name');
      }
      await client.lpush(keys.queue(route.routingKey, priority), envelope);
      return;
    }
    const type = router.typeOf(route.exchange);
    if (type === 'fanout') {
      await client.publish(keys.fanoutChannel(route.exchange, route.routingKey), envelope);
      return;
    }
    const queues = routeToQueues(type, await router.bindings(route.exchange), route.routingKey);
    if (queues.length === 0) {
      this.logger.debug?.(
        `message to exchange "${route.exchange}" with routing key "${route.routingKey}" matched no queue and was dropped (kombu does the same)`,
      );
      return;
    }
    if (queues.length === 1) {
      await client.lpush(keys.queue(queues[0], priority), envelope);
      return;
    }
    const pipeline = client.pipeline();
    for (const q of queues) pipeline.lpush(keys.queue(q, priority), envelope);
    for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
  }

  async consume(queues: string[], options: ConsumeOptions, onDelivery: DeliveryHandler): Promise<Consumer> {
    const session = this.requireSession();
    const lists: string[] = [];
    const fanout: { queue: string; exchange: string; bindingKey: string }[] = [];
    for (const queue of queues) {
      const binding = session.router.fanoutBinding(queue);
      if (binding) fanout.push({ queue, ...binding });
      else lists.push(queue);
    }
    const ctx: ConsumerContext = {
      main: session.client,
      keys: session.keys,
      ackEmulation: session.ackEmulation,
      logger: this.logger,
      pollTimeoutSeconds: this.options.pollTimeoutSeconds,
      // well inside the visibility timeout, and within Python's default (3600 s) when ours is longer
      heldRefreshMs: Math.min(Math.max((this.options.visibilityTimeoutSeconds * 1000) / 4, 100), 300_000),
      connect: (role) => this.connection(session.endpoint, role),
      headerLimits: { maxDepth: this.options.maxHeaderDepth, maxValues: this.options.maxHeaderValues },
    };
    const consumer = new RedisConsumer(ctx, lists, fanout, options, onDelivery);
    try {
      await consumer.start();
    } catch (err) {
      await consumer.cancel();
      throw err;
    }
    this.consumers.add(consumer);
    if (consumer.acks) this.startRestoreTimer();
    return {
      cancel: async () => {
        if (!this.consumers.delete(consumer)) return;
        if (![...this.consumers].some((c) => c.acks)) this.stopRestoreTimer();
        await consumer.cancel();
        // until what it handed out is settled, close() must still restore it
        for (const c of this.cancelled) if (!c.holding) this.cancelled.delete(c);
        if (consumer.holding) this.cancelled.add(consumer);
      },
      setPrefetch: (count) => consumer.setPrefetch(count),
    };
  }

  /**
   * kombu `QoS.restore_visible`: put back every delivery (ours or any kombu process's) that has
   * been unacknowledged longer than the visibility timeout. Returns how many were restored.
   */
  async restoreVisible(): Promise<number> {
    return this.requireSession().ackEmulation.restoreVisible();
  }

  private requireSession(): Session {
    if (!this.session) throw new RedisBrokerError('the Redis broker is not connected: call connect() first');
    return this.session;
  }

  private async open(): Promise<Session> {
    this.status.next('connecting');
    const failures: string[] = [];
    for (const endpoint of this.endpoints) {
      try {
        const client = await this.connection(endpoint, 'broker', true);
        await refuseRedisCluster(client, 'broker').catch((err: Error) => {
          client.disconnect();
          throw err;
        });
        const keys = new KombuKeys(this.options.globalKeyprefix, endpoint.db);
        const router = new KombuRouter(client, keys, this.declarations);
        const ackEmulation = new KombuAckEmulation(
          client,
          keys,
          kombuScripts(client),
          router,
          { visibilityTimeoutSeconds: this.options.visibilityTimeoutSeconds, priorityRestore: this.options.priorityRestore },
          this.logger,
        );
        this.session = { client, endpoint, keys, router, ackEmulation };
        this.status.next('connected');
        return this.session;
      } catch (err) {
        failures.push(`${endpoint.display}: ${(err as Error).message}${tlsErrorHint(err)}`);
      }
    }
    this.status.next('disconnected');
    throw new RedisBrokerError(`could not connect to the Redis broker (${failures.join('; ')}); check that Redis is running and the broker URL is right`);
  }

  /** A new connection for `role`; only the main one drives status$. Rejects (and stops retrying) when the first attempt fails. */
  private async connection(endpoint: RedisEndpoint, role: string, main = false): Promise<Redis> {
    const { redisOptions } = this.options;
    const connection = new RedisConnection(endpoint, {
      role,
      logger: this.logger,
      redisOptions: { ...redisOptions, lazyConnect: true },
      connectionName: `${redisOptions.connectionName ?? 'nestjs-celery'}-${role}`,
    });
    try {
      await connection.open();
    } catch (err) {
      connection.client.disconnect();
      throw err;
    }
    if (main) {
      connection.status.subscribe((status) => {
        if (status === 'connecting' || status === 'closed') return;
        if (this.session?.endpoint === endpoint && !this.closing) this.status.next(status);
      });
    }
    return connection.client;
  }

  private startRestoreTimer(): void {
    const interval = this.options.restoreIntervalSeconds;
    if (this.restoreTimer || interval <= 0) return;
    // kombu restores once when the consumer starts polling, then on every 10th 10 s tick
    void this.runRestore();
    this.restoreTimer = setInterval(() => void this.runRestore(), interval * 1000);
    this.restoreTimer.unref();
  }

  private stopRestoreTimer(): void {
    if (this.restoreTimer) clearInterval(this.restoreTimer);
    this.restoreTimer = undefined;
  }

  private async runRestore(): Promise<void> {
    if (this.restoring || !this.session || this.closing) return;
    this.restoring = true;
    try {
      await this.session.ackEmulation.restoreVisible();
    } catch (err) {
      this.logger.warn(`restoring unacknowledged messages failed (${(err as Error).message}); will retry on the next round`);
    } finally {
      this.restoring = false;
    }
  }

  /** kombu `Channel.close`: auto-delete queues bound to fanout exchanges lose their binding and lists. */
  private async removeAutoDeleteBindings(session: Session): Promise<void> {
    if (!this.autoDeleteBindings.length) return;
    const pipeline = session.client.pipeline();
    for (const b of this.autoDeleteBindings.splice(0)) {
      pipeline.srem(session.keys.bindings(b.exchange), b.member);
      for (const key of session.keys.brpopKeys([b.queue])) pipeline.del(key);
    }
    await pipeline.exec().catch((err: Error) => this.logger.warn(`removing auto-delete bindings failed: ${err.message}`));
  }
}

/** Resolves when the client is ready again; rejects if it ends for good (closed). */
function whenReady(client: Redis): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const ready = () => {
      client.off('end', end);
      resolve();
    };
    const end = () => {
      client.off('ready', ready);
      reject(new RedisBrokerError('the Redis connection closed before the publish could be sent; it was not sent'));
    };
    client.once('ready', ready);
    client.once('end', end);
  });
}
