/**
 * Our Worker (engine/worker/worker.ts) in its own process: consumes one queue with
 * `concurrency` (= prefetch), stores every result before acking. With `rssEvery` it samples
 * its memory (after a full GC when started with --expose-gc) each time that many more tasks
 * completed and reports the series; a "sample" message gets one sample at once (after V8's
 * last-resort GC with `lastResort: true`, the bench's "what could be given back"). The tasks are
 * bench-tasks.ts's, on the event loop or (pool: 'processes') in `concurrency` child processes.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import type { ChildMessage } from '../processes.js';
import registerBenchTasks from './bench-tasks.js';
import { childConfig, fail, onStop, reply } from './child-support.js';
import { memory } from './memory.js';
import { createApp } from './our-app.js';

interface Config {
  broker: string;
  backend: string;
  queue: string;
  task: string;
  concurrency: number;
  ackMode: 'late' | 'early';
  rssEvery?: number;
  /** RabbitMQ queue type of the queue (default classic) */
  queueType?: 'classic' | 'quorum';
  /** 'processes': the tasks run in `concurrency` child processes (default: the event loop) */
  pool?: 'event-loop' | 'processes';
}

const cfg = childConfig<Config>();

async function main(): Promise<void> {
  const app = createApp(cfg.broker, cfg.backend, { queueType: cfg.queueType });
  const processes = cfg.pool === 'processes';
  const worker = new Worker(app, {
    queues: [cfg.queue],
    concurrency: cfg.concurrency,
    ackMode: cfg.ackMode,
    hostname: `bench-ours-${process.pid}@localhost`,
    ...(processes ? { pool: 'processes' as const, poolEntry: fileURLToPath(new URL('./bench-tasks.js', import.meta.url)) } : {}),
  });
  if (!processes) registerBenchTasks(worker);
  await worker.start();
  process.on('message', (m: ChildMessage) => {
    if (m.type === 'sample') reply({ type: 'sample', tasks: worker.processedCount, ...memory(m.lastResort === true) });
  });
  let sampler: NodeJS.Timeout | undefined;
  if (cfg.rssEvery) {
    const every = cfg.rssEvery;
    let next = every;
    // polling processedCount every 5 ms costs nothing next to thousands of tasks a second
    sampler = setInterval(() => {
      const done = worker.processedCount;
      if (done < next) return;
      reply({ type: 'rss', tasks: done, ...memory() });
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
