/**
 * One ioredis connection, for the Redis broker and the Redis result backend alike: built through
 * the driver loader from a parsed URL (TLS, db) plus transport options, named in CLIENT LIST, its
 * state as a ConnectionStatus, each outage logged once, never an unhandled 'error'.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { BehaviorSubject } from 'rxjs';
import { loadDriver } from '../driver-loader.js';
import type { CeleryLogger } from '../../common/logger.js';
import type { ConnectionStatus } from '../connection-status.js';
import type { RedisEndpoint } from './redis-url.js';

export interface RedisConnectionOptions {
  /** CLIENT SETNAME: which process and role the connection serves (shown in CLIENT LIST) */
  connectionName: string;
  /** what the connection is for, in log lines: broker, consumer, fanout, result backend … */
  role: string;
  logger: CeleryLogger;
  /** ioredis options over the endpoint's own (transport options, lazyConnect, autoResubscribe …) */
  redisOptions?: RedisOptions;
}

export class RedisConnection {
  readonly client: Redis;
  readonly status = new BehaviorSubject<ConnectionStatus>('connecting');
  /** the first error of the current outage: the cause (a TLS or socket error) of what follows */
  lastError?: Error;
  /** the last error message logged in this outage: ioredis repeats it on every reconnect attempt */
  private reported?: string;

  constructor(
    readonly endpoint: RedisEndpoint,
    options: RedisConnectionOptions,
  ) {
    const { connectionName, role, logger, redisOptions = {} } = options;
    const c = (this.client = new (loadDriver('ioredis').Redis)({ ...endpoint.options, ...redisOptions, connectionName }));
    c.on('error', (err: Error) => {
      this.lastError ??= err;
      if (err.message === this.reported) return;
      this.reported = err.message;
      logger.warn(`Redis ${role} connection to ${endpoint.display}: ${err.message}`);
    });
    c.on('ready', () => {
      if (this.reported) logger.log(`Redis ${role} connection to ${endpoint.display} is back`);
      this.reported = undefined;
      this.lastError = undefined;
      this.status.next('connected');
    });
    c.on('reconnecting', () => this.status.next('reconnecting'));
    c.on('close', () => {
      if (this.status.value !== 'closed') this.status.next('disconnected');
    });
    c.on('end', () => this.status.next('closed'));
  }

  /**
   * Connect a `lazyConnect` connection. Rejects with the cause of the failure (ioredis itself only
   * says "Connection is closed."); ioredis keeps retrying unless the caller disconnects.
   */
  async open(): Promise<void> {
    try {
      await this.client.connect();
    } catch (err) {
      throw this.lastError ?? err;
    }
  }

  async close(): Promise<void> {
    this.status.next('closed');
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
    this.status.complete();
  }
}

/** The worst of several connection states, for a component that owns more than one connection. */
export function combineStatus(states: ConnectionStatus[]): ConnectionStatus {
  const rank: ConnectionStatus[] = ['closed', 'disconnected', 'reconnecting', 'connecting', 'connected'];
  for (const s of rank) if (states.includes(s)) return s;
  return 'connecting';
}

/** A Redis server in cluster mode, which Celery's Redis broker and backend do not support. */
export class RedisClusterUnsupportedError extends Error {
  override name = 'RedisClusterUnsupportedError';
}

/**
 * Refuse a server in cluster mode, at startup with the reason, instead of MOVED/CROSSSLOT errors
 * later: Celery's Redis transport and backend (5.2 to 5.6) have no cluster client, its chords
 * and group results touch keys of many hash slots in one call, and its result pub/sub channels
 * would reach only the node they are published on.
 */
export async function refuseRedisCluster(client: Redis, role: string): Promise<void> {
  const info = await client.info('cluster');
  if (/^cluster_enabled:1/m.test(info)) {
    throw new RedisClusterUnsupportedError(
      `the Redis ${role} is a Redis Cluster node, which is not supported: Celery's Redis ${role} has no cluster mode ` +
        '(chord and group keys span hash slots in one call; result pub/sub reaches one node only), so Python peers could not share it; ' +
        'use a standalone Redis, or Redis Sentinel for failover (sentinel:// URLs)',
    );
  }
}
