// One tracked ioredis connection of the Redis result backend and how several connection states combine.
import type { Redis, RedisOptions } from 'ioredis';
import { loadDriver } from '../../driver-loader.js';
import { BehaviorSubject } from 'rxjs';
import type { CeleryLogger } from '../../../common/logger.js';
import type { ConnectionStatus } from '../../connection-status.js';
import type { RedisEndpoint } from '../redis-url.js';

/** One ioredis connection of the Redis result backend, with its status as a ConnectionStatus. */
export class TrackedRedisConnection {
  readonly client: Redis;
  readonly status = new BehaviorSubject<ConnectionStatus>('connecting');
  /** the last connection error, to say why connect() failed */
  lastError?: Error;
  private reportedError = false;

  constructor(endpoint: RedisEndpoint, name: string, logger: CeleryLogger, options: RedisOptions = {}) {
    this.client = new (loadDriver('ioredis').Redis)({ ...endpoint.options, connectionName: name, ...options });
    const c = this.client;
    c.on('ready', () => {
      this.reportedError = false;
      this.status.next('connected');
    });
    c.on('reconnecting', () => this.status.next('reconnecting'));
    c.on('close', () => {
      if (this.status.value !== 'closed') this.status.next('disconnected');
    });
    c.on('end', () => this.status.next('closed'));
    // an 'error' without a listener would crash the process; one line per outage is enough
    c.on('error', (err: Error) => {
      this.lastError = err;
      if (this.reportedError) return;
      this.reportedError = true;
      logger.warn(`redis result backend connection ${name} to ${endpoint.display}: ${err.message}; reconnecting`);
    });
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

/** The worst of several connection states, for a backend that owns more than one connection. */
export function combineStatus(states: ConnectionStatus[]): ConnectionStatus {
  const rank: ConnectionStatus[] = ['closed', 'disconnected', 'reconnecting', 'connecting', 'connected'];
  for (const s of rank) if (states.includes(s)) return s;
  return 'connecting';
}
