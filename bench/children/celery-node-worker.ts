/**
 * celery-node 0.5.9's worker, as its README starts it. Its own behaviour, not ours: it acks on
 * receipt (before the result is stored), sets no prefetch limit on AMQP, reads Redis with one
 * BRPOP at a time, and logs two lines per task (stdout goes to /dev/null).
 */
import celery from 'celery-node';
import { childConfig, fail, onStop, reply } from './child-support.js';

interface Config {
  broker: string;
  backend: string;
  queue: string;
  task: string;
}

const cfg = childConfig<Config>();

async function main(): Promise<void> {
  const worker = celery.createWorker(cfg.broker, cfg.backend, cfg.queue);
  worker.register(cfg.task, (x: number, y: number) => x + y);
  // start() resolves only when consuming ends (Redis) or once subscribed (AMQP): don't wait on it
  void worker.start();
  await worker.isReady();
  onStop(async () => {
    // celery-node's stop() is "not implemented yet"; disconnect is what it offers
    await Promise.race([worker.disconnect(), new Promise((r) => setTimeout(r, 6_000))]);
  });
  reply({ type: 'ready' });
}

main().catch(fail);
