// A worker process for the kill test: runs `fault.add` from the built library until SIGKILLed.
// argv: brokerUrl backendUrl queue runsKey; prints "ready" then "processed <n>" lines; counts
// each run in the hash runsKey on the backend's Redis.
import { Redis } from 'ioredis';
import { AmqpBroker, Celery, RedisBroker, Worker, silentLoggerForChild } from './child-lib.mjs';

const [brokerUrl, backendUrl, queue, runsKey] = process.argv.slice(2);
const runs = new Redis(backendUrl);
const broker = brokerUrl.startsWith('redis')
  ? // a short visibility timeout so the deliveries of a killed worker come back within the test
    new RedisBroker(brokerUrl, { visibilityTimeoutSeconds: 3, restoreIntervalSeconds: 1, logger: silentLoggerForChild })
  : new AmqpBroker(brokerUrl, { logger: silentLoggerForChild });
const app = new Celery({ broker, backend: backendUrl, taskDefaultQueue: queue, resultExpires: 900, logger: silentLoggerForChild });
const worker = new Worker(app, { concurrency: 10, logger: silentLoggerForChild });
worker.register('fault.add', async ([x, y], _kwargs, ctx) => {
  await runs.hincrby(runsKey, ctx.id, 1);
  await new Promise((r) => setTimeout(r, 5));
  return x + y;
});
await worker.start();
console.log('ready');
setInterval(() => console.log(`processed ${worker.processedCount}`), 50);
