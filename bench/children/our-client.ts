/**
 * Our client (engine/celery.ts) in its own process. Modes:
 *  - preload: N × sendTask(add, [i, 1]) with no result backend (publisher confirms only), `inflight` at once
 *  - publish: the same with the Redis result backend, so each send first subscribes to its
 *    result channel (Celery's on_task_call), as Python's delay() does
 *  - rtt: one task at a time, sendTask → AsyncResult.get(), `rttN` measured after 20 warm-ups
 */
import { performance } from 'node:perf_hooks';
import type { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { childConfig, fail, onStop, reply } from './child-support.js';
import { createApp } from './our-app.js';

interface Config {
  mode: 'preload' | 'publish' | 'rtt';
  broker: string;
  backend: string | null;
  queue: string;
  task: string;
  n: number;
  inflight: number;
  warmup?: number;
  /** RabbitMQ publisher confirms (default true, the library's default) */
  confirmPublish?: boolean;
  /** RabbitMQ queue type of the queue (default classic) */
  queueType?: 'classic' | 'quorum';
  /** arguments sent after (i, 1): every task is task(i, 1, ...extraArgs) */
  extraArgs?: unknown[];
  /** preload: task i gets the id idBase + i as 12 hex digits (idBase = a UUID's first 24 characters), so the bench knows the ids before sending */
  idBase?: string;
}

const cfg = childConfig<Config>();

/** sendTask(add, [i, 1]) for i in 0..n-1, with `inflight` sends outstanding; ids[i] is task i. */
async function sendMany(app: Celery, n: number, inflight: number): Promise<string[]> {
  const ids = new Array<string>(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const taskId = cfg.idBase === undefined ? undefined : cfg.idBase + i.toString(16).padStart(12, '0');
      ids[i] = (await app.sendTask(cfg.task, [i, 1, ...(cfg.extraArgs ?? [])], {}, { queue: cfg.queue, taskId })).id;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, n) }, lane));
  return ids;
}

async function main(): Promise<void> {
  const app = createApp(cfg.broker, cfg.backend, { confirmPublish: cfg.confirmPublish, queueType: cfg.queueType });
  onStop(async () => {
    await app.close();
  });
  await app.connect();
  if (cfg.mode === 'preload') {
    // every message in the queue must be one of the N the drain waits for: no warm-up send
    await app.declareQueue(cfg.queue);
    const started = performance.now();
    const ids = await sendMany(app, cfg.n, cfg.inflight);
    reply({ type: 'result', n: cfg.n, seconds: (performance.now() - started) / 1000, ids });
    return;
  }
  // one send before timing: connects, declares the queue, opens the result subscriber
  const warm = await app.sendTask(cfg.task, [0, 0], {}, { queue: cfg.queue });
  if (cfg.mode === 'rtt') {
    await warm.get({ timeout: 30_000 });
    const warmup = cfg.warmup ?? 20;
    const latenciesMs: number[] = [];
    const ids: string[] = [warm.id];
    for (let i = 0; i < warmup + cfg.n; i++) {
      const started = performance.now();
      const r = await app.sendTask<number>(cfg.task, [i, 1], {}, { queue: cfg.queue });
      const value = await r.get({ timeout: 30_000 });
      const elapsed = performance.now() - started;
      if (value !== i + 1) throw new Error(`${cfg.task}(${i}, 1) returned ${JSON.stringify(value)}`);
      ids.push(r.id);
      if (i >= warmup) latenciesMs.push(elapsed);
    }
    reply({ type: 'result', latenciesMs, ids });
    return;
  }
  const started = performance.now();
  const ids = await sendMany(app, cfg.n, cfg.inflight);
  const seconds = (performance.now() - started) / 1000;
  reply({ type: 'result', n: cfg.n, seconds, ids, warmId: warm.id });
}

main().catch(fail);
