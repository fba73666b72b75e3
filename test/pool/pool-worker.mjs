// A worker process with the processes pool for the process-pool suite, from the built library.
// argv: brokerUrl backendUrl queue hostname optionsJson; prints "ready" once it consumes.
import { fileURLToPath } from 'node:url';
import { Celery, Worker, silentLoggerForChild } from '../faults/child-lib.mjs';

const [brokerUrl, backendUrl, queue, hostname, optionsJson] = process.argv.slice(2);
const app = new Celery({ broker: brokerUrl, backend: backendUrl, taskDefaultQueue: queue, resultExpires: 900, logger: silentLoggerForChild });
const worker = new Worker(app, {
  hostname,
  pool: 'processes',
  poolEntry: fileURLToPath(new URL('./pool-tasks.mjs', import.meta.url)),
  logger: silentLoggerForChild,
  ...JSON.parse(optionsJson ?? '{}'),
});
await worker.start();
console.log('ready');
process.on(
  'SIGTERM',
  () =>
    void worker
      .stop(5000)
      .then(() => app.close())
      .then(() => process.exit(0)),
);
