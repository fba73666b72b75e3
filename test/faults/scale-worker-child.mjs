// One of our workers in the many-workers scale test: runs `scale.run` from the built library with
// concurrency 1 (its prefetch window is 1: tasks run at once = prefetch) until SIGTERM.
// argv: brokerUrl backendUrl queue nodename; prints "ready" once it consumes. The task counts its
// run in the hash it is given on the backend's Redis, takes `ms` ms and says which worker ran it,
// exactly as test/interop/python/scale_tasks.py does on Python's side.
import { Redis } from 'ioredis';
import { AmqpBroker, Celery, RedisBroker, Worker, silentLoggerForChild } from './child-lib.mjs';

const [brokerUrl, backendUrl, queue, hostname] = process.argv.slice(2);
const runs = new Redis(backendUrl);
const broker = brokerUrl.startsWith('redis')
  ? new RedisBroker(brokerUrl, { logger: silentLoggerForChild })
  : new AmqpBroker(brokerUrl, { logger: silentLoggerForChild });
const app = new Celery({ broker, backend: backendUrl, taskDefaultQueue: queue, resultExpires: 900, logger: silentLoggerForChild });
const worker = new Worker(app, { concurrency: 1, hostname, withoutHeartbeat: true, logger: silentLoggerForChild });
worker.register('scale.run', async ([i, runsKey, ms], _kwargs, ctx) => {
  await runs.hincrby(runsKey, ctx.id, 1);
  await new Promise((r) => setTimeout(r, ms));
  return { value: 2 * i, worker: ctx.hostname };
});
await worker.start();
console.log('ready');
const stop = async () => {
  await worker.stop(10_000);
  await app.close();
  runs.disconnect();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
