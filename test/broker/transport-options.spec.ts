/**
 * Celery's broker_transport_options and result_backend_transport_options given as app options
 * reach the Redis broker and backend (shared Redis; every key under a per-test prefix).
 */
import { Redis } from 'ioredis';
import { Celery, Worker } from 'nestjs-celery';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import type { LazyBroker } from '../../libs/nestjs-celery/src/transport/lazy-transport.js';
import type { RedisBroker } from '../../libs/nestjs-celery/src/transport/redis/broker/redis.broker.js';
import { celeryPeers, pythonClient, startPythonWorker, type PythonEnv } from '../support/python.js';
import { describeIfAvailable, REDIS_URL, uniqueName } from '../support/services.js';
import { Inbox, sleep, taskMessage } from './redis-support.js';

const describeRedis = await describeIfAvailable('transport options', 'redis');
const describePython = await describeIfAvailable('transport options with Python Celery', 'redis', 'python-celery');
const TIMEOUT = 60_000;
/** result_backend_transport_options global_keyprefix came with Celery 5.3 */
const prefixingPeers = celeryPeers().filter((p) => Number(p.version.split('.')[1]) >= 3 || Number(p.version.split('.')[0]) > 5);

describeRedis('broker_transport_options / result_backend_transport_options (Redis)', () => {
  const redis = new Redis(REDIS_URL);
  const apps: Celery[] = [];
  const prefixes: string[] = [];
  const app = (options: ConstructorParameters<typeof Celery>[0]) => {
    const a = new Celery({ logger: silentLogger, ...options });
    apps.push(a);
    return a;
  };
  /** the Redis driver of an app's broker, connected (createBroker loads the family on connect) */
  const connectedBroker = async (options: ConstructorParameters<typeof Celery>[0]) => {
    const broker = app(options).broker as LazyBroker;
    await broker.connect();
    return broker.driver as RedisBroker;
  };

  afterAll(async () => {
    await Promise.allSettled(apps.map((a) => a.close()));
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  }, TIMEOUT);

  test(
    'visibility_timeout and global_keyprefix reach the broker: a delivery older than 1 s is restored under the prefix',
    async () => {
      const prefix = `${uniqueName('bto')}:`;
      prefixes.push(prefix);
      const queue = uniqueName('bto');
      const holder = await connectedBroker({ broker: REDIS_URL, brokerTransportOptions: { global_keyprefix: prefix } });
      await holder.publish(taskMessage('held-1'), { exchange: '', routingKey: queue });
      const inbox = new Inbox();
      await holder.consume([queue], { prefetch: 1 }, inbox.handler);
      await inbox.next(1, 10_000); // delivered, never acked
      expect(await redis.hlen(`${prefix}unacked`)).toBe(1);

      const byDefault = await connectedBroker({ broker: REDIS_URL, brokerTransportOptions: { global_keyprefix: prefix } });
      const short = await connectedBroker({ broker: REDIS_URL, brokerTransportOptions: { global_keyprefix: prefix, visibility_timeout: 1 } });
      await sleep(1500); // the delivery is now older than the 1 s visibility timeout
      expect(await byDefault.restoreVisible()).toBe(0); // kombu's default, 3600 s
      expect(await short.restoreVisible()).toBe(1);
      expect(await redis.llen(`${prefix}${queue}`)).toBe(1);
    },
    TIMEOUT,
  );

  test(
    "result_backend_transport_options global_keyprefix: results under Celery's prefixed key",
    async () => {
      const prefix = uniqueName('rbto');
      prefixes.push(prefix);
      const queue = uniqueName('rbto');
      const a = app({ broker: `memory://${queue}`, backend: REDIS_URL, resultBackendTransportOptions: { global_keyprefix: prefix } });
      const worker = new Worker(a, { queues: [queue], concurrency: 1, logger: silentLogger });
      worker.register('bto.add', ([x, y]) => (x as number) + (y as number));
      await worker.start();
      try {
        const result = await a.sendTask<number>('bto.add', [1, 2], {}, { queue });
        await expect(result.get({ timeout: 30_000 })).resolves.toBe(3);
        expect(JSON.parse((await redis.get(`${prefix}_celery-task-meta-${result.id}`))!)).toMatchObject({ status: 'SUCCESS', result: 3 });
        expect(await redis.exists(`celery-task-meta-${result.id}`)).toBe(0);
      } finally {
        await worker.stop();
      }
    },
    TIMEOUT,
  );

  test('an unknown key is refused when the app connects, at once (no retry)', async () => {
    const lines: string[] = [];
    const logger = { ...silentLogger, error: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
    const refused = app({ broker: REDIS_URL, brokerTransportOptions: { polling_interval: 1 } as never, logger });
    await expect(refused.connect()).rejects.toThrow(/unknown broker_transport_options key "polling_interval"/);
    expect(lines.filter((l) => /Trying again/.test(l))).toEqual([]);
  });
});

describePython('result_backend_transport_options global_keyprefix with Python Celery ≥ 5.3', () => {
  const apps: Celery[] = [];
  afterAll(async () => {
    await Promise.allSettled(apps.map((a) => a.close()));
  }, TIMEOUT);

  describe.each(prefixingPeers)('Celery $version', ({ peer }) => {
    test(
      'both ways: each side reads the result the other stored under the prefixed key',
      async () => {
        const queue = uniqueName('rbto-py');
        const prefix = 'billing:'; // ends in ':', so no '_' is added
        const served = new Celery({ broker: REDIS_URL, backend: REDIS_URL, resultBackendTransportOptions: { global_keyprefix: prefix }, logger: silentLogger });
        apps.push(served);
        const worker = new Worker(served, { queues: [queue], concurrency: 1, logger: silentLogger });
        worker.register('node.add', ([x, y]) => (x as number) + (y as number));
        await worker.start();
        const env: PythonEnv = { broker: REDIS_URL, backend: REDIS_URL, queue, peer, resultBackendTransportOptions: { global_keyprefix: prefix } };
        const [outcome] = await pythonClient(env, [{ task: 'node.add', args: [2, 3] }]);
        expect(outcome).toMatchObject({ state: 'SUCCESS', result: 5 });
        await worker.stop();

        const py = await startPythonWorker(env);
        try {
          const result = await served.sendTask<number>('py.add', [4, 5], {}, { queue });
          await expect(result.get({ timeout: 30_000 })).resolves.toBe(9);
        } finally {
          await py.stop();
        }
      },
      TIMEOUT * 2,
    );
  });
});
