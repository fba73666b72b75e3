/**
 * Shared pieces of the fault suites: preloading tasks, recording every run of a task in a Redis
 * counter, reading stored outcomes, and the one assertion they all make: each task ends with
 * exactly its own SUCCESS, and ran no more often than at-least-once delivery allows.
 */
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { Celery, type SendTaskOptions } from '../../libs/nestjs-celery/src/engine/celery.js';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { eventually } from '../support/eventually.js';

export type Outcome = { status: string; result: unknown } | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publish `n` `fault.add(i, i)` tasks with confirms, from a client that does not wait for results. */
export async function preload(brokerUrl: string, queue: string, n: number, options: SendTaskOptions = {}): Promise<string[]> {
  const publisher = new Celery({ broker: brokerUrl, backend: null, taskDefaultQueue: queue, logger: silentLogger });
  const ids: string[] = [];
  try {
    for (let start = 0; start < n; start += 500) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(500, n - start) }, (_, k) => publisher.sendTask('fault.add', [start + k, start + k], {}, options)),
      );
      ids.push(...batch.map((r) => r.id));
    }
  } finally {
    await publisher.close();
  }
  return ids;
}

/**
 * Counts the runs of each task in one Redis hash (task id → runs), from any process: a task
 * handler calls `record(id)` as its first step.
 */
export class RunLog {
  readonly redis: Redis;
  constructor(
    redisUrl: string,
    readonly key = `fault-runs:${process.pid}:${Date.now()}`,
  ) {
    this.redis = new Redis(redisUrl);
  }

  record(taskId: string): Promise<number> {
    return this.redis.hincrby(this.key, taskId, 1);
  }

  /** Runs of each id, in order (0 when it never ran). */
  async counts(ids: string[]): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < ids.length; i += 1000) {
      const values = await this.redis.hmget(this.key, ...ids.slice(i, i + 1000));
      out.push(...values.map((v) => Number(v ?? 0)));
    }
    return out;
  }

  close(): void {
    this.redis.disconnect();
  }
}

/** The stored outcome of every id (undefined while none), read with MGET. */
export async function outcomes(backendUrl: string, ids: string[]): Promise<Outcome[]> {
  const redis = new Redis(backendUrl);
  try {
    const out: Outcome[] = [];
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
export async function awaitOutcomes(backendUrl: string, ids: string[], timeoutMs: number): Promise<Outcome[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await outcomes(backendUrl, ids).catch(() => undefined);
    const done = all?.filter((o) => o && ['SUCCESS', 'FAILURE', 'REVOKED'].includes(o.status)).length ?? 0;
    if (all && done === ids.length) return all;
    if (Date.now() > deadline) throw new Error(`only ${done} of ${ids.length} tasks have an outcome after ${timeoutMs} ms`);
    await sleep(250);
  }
}

/** Every task i has exactly its own SUCCESS(2i). */
export function expectAllSucceeded(all: Outcome[]): void {
  const wrong = all.map((o, i) => [i, o] as const).filter(([i, o]) => o?.status !== 'SUCCESS' || o.result !== 2 * i);
  expect(wrong.slice(0, 5)).toEqual([]);
  expect(all).toHaveLength(all.filter((o) => o?.status === 'SUCCESS').length);
}

/**
 * Every task ran at least once, and at most `maxDuplicates` tasks ran more than once (at-least-once
 * delivery may rerun what was in flight when the fault hit, nothing else). Returns the reruns.
 */
export async function expectRuns(log: RunLog, ids: string[], maxDuplicates: number): Promise<number> {
  const counts = await log.counts(ids);
  const never = counts.filter((c) => c === 0).length;
  const reruns = counts.filter((c) => c > 1).length;
  expect({ never, tooMany: reruns > maxDuplicates ? reruns : 0 }).toEqual({ never: 0, tooMany: 0 });
  return reruns;
}

/** Wait until `check()` holds, failing with `what` after `timeoutMs`. */
export const until = (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> => eventually(check, what, timeoutMs, 50);

/** Messages ready and unacked in a queue of a private RabbitMQ (rabbitmqctl list_queues). */
export async function queueCounts(ctl: (...args: string[]) => Promise<string>, queue: string): Promise<{ ready: number; unacked: number }> {
  const out = await ctl('list_queues', '-q', '--no-table-headers', 'name', 'messages_ready', 'messages_unacknowledged');
  for (const line of out.split('\n')) {
    const [name, ready, unacked] = line.trim().split(/\s+/);
    if (name === queue) return { ready: Number(ready), unacked: Number(unacked) };
  }
  return { ready: 0, unacked: 0 };
}

/** Messages in a queue of a RabbitMQ at `url` (a passive declare on a connection of its own). */
export async function messageCount(url: string, queue: string): Promise<number> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    return (await ch.checkQueue(queue)).messageCount;
  } finally {
    await conn.close();
  }
}
