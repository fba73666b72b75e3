/**
 * Our Worker (engine/worker/worker.ts) in its own process: consumes one queue with
 * `concurrency` (= prefetch), stores every result before acking. With `rssEvery` it samples
 * its memory (after a full GC when started with --expose-gc) each time that many more tasks
 * completed and reports the series.
 */
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { childConfig, fail, onStop, reply } from './child-support.js';
import { createApp } from './our-app.js';

interface Config {
  broker: string;
  backend: string;
  queue: string;
  task: string;
  concurrency: number;
  ackMode: 'late' | 'early';
  rssEvery?: number;
}

const cfg = childConfig<Config>();

async function main(): Promise<void> {
  const app = createApp(cfg.broker, cfg.backend);
  const worker = new Worker(app, { queues: [cfg.queue], concurrency: cfg.concurrency, ackMode: cfg.ackMode, hostname: `bench-ours-${process.pid}@localhost` });
  worker.register(cfg.task, ([x, y]) => (x as number) + (y as number));
  await worker.start();
  let sampler: NodeJS.Timeout | undefined;
  if (cfg.rssEvery) {
    const every = cfg.rssEvery;
    let next = every;
    // polling processedCount every 5 ms costs nothing next to thousands of tasks a second
    sampler = setInterval(() => {
      const done = worker.processedCount;
      if (done < next) return;
      // after a full GC, heapUsed is what the worker really keeps (no garbage waiting for collection)
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      reply({ type: 'rss', tasks: done, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers });
      while (next <= done) next += every;
    }, 5);
  }
  onStop(async () => {
    if (sampler) clearInterval(sampler);
    await worker.stop();
    await app.close();
    return { processed: worker.processedCount };
  });
  reply({ type: 'ready' });
}

main().catch(fail);
