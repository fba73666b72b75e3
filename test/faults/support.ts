/** Shared pieces of the fault suites: preloading tasks and reading their stored outcomes. */
import { Redis } from 'ioredis';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { REDIS_URL } from '../support/services.js';

/** Publish `n` `fault.add(i, i)` tasks with confirms, from a client that does not wait for results. */
export async function preload(brokerUrl: string, queue: string, n: number): Promise<string[]> {
  const publisher = new Celery({ broker: brokerUrl, backend: null, taskDefaultQueue: queue, logger: silentLogger });
  const ids: string[] = [];
  try {
    for (let start = 0; start < n; start += 500) {
      const batch = await Promise.all(Array.from({ length: Math.min(500, n - start) }, (_, k) => publisher.sendTask('fault.add', [start + k, start + k])));
      ids.push(...batch.map((r) => r.id));
    }
  } finally {
    await publisher.close();
  }
  return ids;
}

/** The stored outcome of every id (undefined while none), read with MGET. */
export async function outcomes(ids: string[]): Promise<({ status: string; result: unknown } | undefined)[]> {
  const redis = new Redis(REDIS_URL);
  try {
    const out: ({ status: string; result: unknown } | undefined)[] = [];
    for (let i = 0; i < ids.length; i += 1000) {
      const values = await redis.mget(ids.slice(i, i + 1000).map((id) => `celery-task-meta-${id}`));
      out.push(...values.map((v) => (v ? (JSON.parse(v) as { status: string; result: unknown }) : undefined)));
    }
    return out;
  } finally {
    redis.disconnect();
  }
}

/** Wait until every id has a ready outcome; returns them. */
export async function awaitOutcomes(ids: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await outcomes(ids).catch(() => undefined);
    const done = all?.filter((o) => o && ['SUCCESS', 'FAILURE', 'REVOKED'].includes(o.status)).length ?? 0;
    if (all && done === ids.length) return all;
    if (Date.now() > deadline) throw new Error(`only ${done} of ${ids.length} tasks have an outcome after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Every task i has exactly its own SUCCESS(2i). */
export function expectAllSucceeded(all: ({ status: string; result: unknown } | undefined)[]) {
  const wrong = all.map((o, i) => [i, o] as const).filter(([i, o]) => o?.status !== 'SUCCESS' || o.result !== 2 * i);
  expect(wrong.slice(0, 5)).toEqual([]);
  expect(all).toHaveLength(all.filter((o) => o?.status === 'SUCCESS').length);
}
