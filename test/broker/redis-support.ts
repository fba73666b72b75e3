/** Shared helpers of the Redis broker suites: isolated brokers, a raw client, delivery collection. */
import { Redis } from 'ioredis';
import type { CeleryLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import type { Delivery, TransportMessage } from '../../libs/nestjs-celery/src/transport/broker.interface.js';
import { RedisBroker, type RedisBrokerOptions } from '../../libs/nestjs-celery/src/transport/redis/broker/redis.broker.js';
import { REDIS_URL, uniqueName } from '../support/services.js';
import { eventually as pollUntil, EVENTUALLY_TIMEOUT_MS } from '../support/eventually.js';

/** A logger that keeps what it was told, so tests can assert on the lines that matter. */
export function recordingLogger(): CeleryLogger & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  return { lines, log: push('log'), warn: push('warn'), error: push('error'), debug: push('debug') };
}

/**
 * Brokers that share one unique kombu global_keyprefix: the unacked hash and index are global to
 * a Redis DB, so a suite that restores with a 1 s visibility timeout must not see anybody else's.
 */
export class RedisSandbox {
  readonly prefix = `${uniqueName('kp')}:`;
  readonly redis = new Redis(REDIS_URL);
  private readonly brokers: RedisBroker[] = [];

  async broker(options: RedisBrokerOptions = {}): Promise<RedisBroker> {
    const broker = new RedisBroker(REDIS_URL, {
      logger: recordingLogger(),
      globalKeyprefix: this.prefix,
      ...options,
    });
    this.brokers.push(broker);
    await broker.connect();
    return broker;
  }

  key(name: string): string {
    return `${this.prefix}${name}`;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.brokers.map((b) => b.close().catch(() => undefined)));
    const keys = await this.redis.keys(`${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`);
    if (keys.length) await this.redis.del(...keys);
    this.redis.disconnect();
  }
}

/** Collects deliveries; `next(n)` waits until n have arrived (or fails after `ms`). */
export class Inbox {
  readonly deliveries: Delivery[] = [];
  private waiters: (() => void)[] = [];
  readonly handler = (d: Delivery): void => {
    this.deliveries.push(d);
    for (const w of this.waiters.splice(0)) w();
  };

  async next(count: number, ms = 30_000): Promise<Delivery[]> {
    const deadline = Date.now() + ms;
    while (this.deliveries.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} deliveries, got ${this.deliveries.length} after ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.deliveries.slice(0, count);
  }
}

export function taskMessage(id: string, extra: Partial<TransportMessage> = {}): TransportMessage {
  return {
    body: Buffer.from(`[[${JSON.stringify(id)}], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]`),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: { lang: 'py', task: 'tests.echo', id, retries: 0, timelimit: [null, null], root_id: id, parent_id: null },
    properties: { correlationId: id, replyTo: 'reply-oid', deliveryMode: 2 },
    ...extra,
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll until `check` passes (for state that Redis, not a callback, tells us about); (check, ms, what) shape. */
export const eventually = (check: () => Promise<boolean> | boolean, ms = EVENTUALLY_TIMEOUT_MS, what = 'condition'): Promise<void> =>
  pollUntil(check, what, ms);
