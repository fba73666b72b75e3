// The pack smoke test's require() path: a CommonJS script loads every entry of the ESM package
// (Node >= 22.12 requires ES modules) and runs a task through the engine on memory://.
'use strict';
const assert = require('node:assert/strict');
const root = require('nestjs-celery');
const { Celery, Worker } = require('nestjs-celery/engine');
const { AmqpBroker } = require('nestjs-celery/amqp');
const { RedisBackend } = require('nestjs-celery/redis');
const { MemoryBroker } = require('nestjs-celery/memory');
const { RpcBackend } = require('nestjs-celery/rpc');

async function main() {
  assert.equal(root.Celery, Celery, 'the root and nestjs-celery/engine share the Celery class');
  assert.deepEqual(
    [AmqpBroker, RedisBackend, MemoryBroker, RpcBackend].map((c) => c.name),
    ['AmqpBroker', 'RedisBackend', 'MemoryBroker', 'RpcBackend'],
  );
  assert.equal(typeof root.CeleryModule.forRoot, 'function');
  assert.equal(require('nestjs-celery/package.json').name, 'nestjs-celery');
  const app = new Celery({ broker: 'memory://require', backend: 'memory://require', logLevel: 'warn' });
  const worker = new Worker(app, { queues: ['celery'] });
  worker.register('smoke.mul', ([x, y]) => x * y);
  await worker.start();
  try {
    const result = await app.sendTask('smoke.mul', [6, 7]);
    assert.equal(await result.get({ timeout: 20_000 }), 42);
  } finally {
    await worker.stop();
    await app.close();
  }
  console.log(`pack smoke (require): ok on node ${process.version}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
