/**
 * Encoding errors are not outages (issue 12, item 2), over the real brokers and Redis backend:
 * a result that cannot be serialized is stored as FAILURE kombu.exceptions.EncodeError (what
 * Python Celery 5.2 stores, read back by a Python client) and its message is acked, once; only a
 * failing backend is retried, and then the message really goes back to the queue.
 */
import { Redis } from 'ioredis';
import type { CeleryLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { RedisBackend } from '../../libs/nestjs-celery/src/transport/redis/backend/redis.backend.js';
import { deleteQueues } from '../support/cleanup.js';
import { pythonClient } from '../support/python.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

const describeBrokers = await describeIfAvailable('result encoding over real brokers', 'redis', 'rabbitmq', 'python-celery');

const cycle = () => {
  const d: Record<string, unknown> = {};
  d.self = d;
  return d;
};
const deep = () => {
  let d: unknown[] = [];
  for (let i = 0; i < 10_000; i++) d = [d];
  return d;
};

/** Python Celery 5.2 stores `EncodeError(["<repr of json's error>"])` (validated with a Python worker). */
const CASES = [
  { task: 't.cycle', run: cycle, repr: "ValueError('Circular reference detected')" },
  { task: 't.deep', run: deep, repr: "RecursionError('maximum recursion depth exceeded while encoding a JSON object')" },
];

/** Entries of kombu's unacked hash (Redis broker) that carry `taskId`. */
async function unackedHolding(redis: Redis, taskId: string): Promise<number> {
  const values = await redis.hvals('unacked');
  return values.filter((v) => v.includes(taskId)).length;
}

/** The ack follows the stored result: wait (at most 30 s) until nothing of the task is held. */
async function settled(redis: Redis, taskId: string): Promise<number> {
  const deadline = Date.now() + 30_000;
  let held = await unackedHolding(redis, taskId);
  while (held > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    held = await unackedHolding(redis, taskId);
  }
  return held;
}

describeBrokers.each([
  ['rabbitmq', AMQP_URL],
  ['redis', REDIS_URL],
])('results that cannot be encoded, on %s', (brokerName, brokerUrl) => {
  const queue = uniqueName(`enc.${brokerName}`);
  const lines: string[] = [];
  const logger: CeleryLogger = { log() {}, debug() {}, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  const runs = new Map<string, number>();
  let app: Celery;
  let worker: Worker;
  let backend: RedisBackend;
  let redis: Redis;
  /** stores to fail (as if Redis were unreachable) before the backend works again */
  let outage = 0;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    backend = new RedisBackend(REDIS_URL, { logger });
    const store = backend.store.bind(backend);
    backend.store = async (meta, target) => {
      if (outage > 0) {
        outage--;
        throw new Error('connect ECONNREFUSED 127.0.0.1:6379 (injected by the test)');
      }
      return store(meta, target);
    };
    app = new Celery({ broker: brokerUrl, backend, taskDefaultQueue: queue, logger });
    worker = new Worker(app, { logger, concurrency: 4, storeAttempts: 3 });
    const count = (id: string) => runs.set(id, (runs.get(id) ?? 0) + 1);
    for (const c of CASES) worker.register(c.task, (_a, _k, ctx) => (count(ctx.id), c.run()));
    worker.register('t.big', (_a, _k, ctx) => (count(ctx.id), 2n ** 70n));
    worker.register('t.ok', (_a, _k, ctx) => (count(ctx.id), 'ok'));
    await worker.start();
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await deleteQueues(brokerUrl, [queue]);
    redis?.disconnect();
  }, 60_000);

  test.each(CASES)(
    '$task: FAILURE EncodeError as Python Celery stores it, acked, run once',
    async ({ task, repr }) => {
      const result = await app.sendTask(task);
      await expect(result.get({ timeout: 30_000 })).rejects.toMatchObject({ excType: 'EncodeError' });
      const meta = JSON.parse((await redis.get(`celery-task-meta-${result.id}`))!) as { status: string; result: unknown };
      expect(meta.status).toBe('FAILURE');
      expect(meta.result).toEqual({ exc_type: 'EncodeError', exc_message: [repr], exc_module: 'kombu.exceptions' });
      // the message is settled: a clean worker stop leaves nothing of it in the broker
      const other = await app.sendTask('t.ok');
      await expect(other.get({ timeout: 30_000 })).resolves.toBe('ok');
      if (brokerName === 'redis') expect(await settled(redis, result.id)).toBe(0);
      expect(runs.get(result.id)).toBe(1);
      expect(lines.some((l) => l.includes(result.id) && l.includes('EncodeError'))).toBe(true);
    },
    60_000,
  );

  test('a Python client reads it as kombu.exceptions.EncodeError', async () => {
    const [outcome] = await pythonClient({ broker: brokerUrl, backend: REDIS_URL, queue }, [{ task: 't.cycle' }]);
    expect(outcome).toMatchObject({ state: 'FAILURE', exc_type: 'EncodeError', exc_module: 'kombu.exceptions' });
    expect(outcome.exc_args).toEqual(["ValueError('Circular reference detected')"]);
  }, 90_000);

  test('a BigInt result is an integer, not an error', async () => {
    const result = await app.sendTask('t.big');
    await expect(result.get({ timeout: 30_000 })).resolves.toBe(2n ** 70n);
  }, 60_000);

  test('a backend outage is retried with backoff; when it outlasts the attempts the message really goes back to the queue', async () => {
    outage = 3; // storeAttempts: the first delivery gives up, the redelivery stores
    const result = await app.sendTask('t.ok');
    await expect(result.get({ timeout: 30_000 })).resolves.toBe('ok');
    expect(runs.get(result.id)).toBe(2);
    expect(lines.some((l) => l.includes(result.id) && l.includes('message requeued'))).toBe(true);
    if (brokerName === 'redis') expect(await settled(redis, result.id)).toBe(0);
  }, 60_000);
});
