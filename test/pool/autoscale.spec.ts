/**
 * Autoscale on the processes pool over real Redis: a worker started with autoscale [3, 1] keeps one child, a burst of
 * slow tasks makes it start children up to 3 (and run 3 at once), and with a 1 s keepalive it goes back to one after
 * the burst; with [2, 0] it keeps no child until a task comes. Python's side is in test/interop/autoscale-interop.spec.ts.
 */
import { expect } from '@jest/globals';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { eventually } from '../support/eventually.js';
import { describeIfAvailable, REDIS_URL, uniqueName } from '../support/services.js';
import { buildLibrary, startPoolWorker, type PoolWorker } from './support.js';

const describeRedis = await describeIfAvailable('process pool autoscale', 'redis');

interface Stats {
  autoscaler: { max: number; min: number; current: number; qty: number };
  prefetch_count: number;
  pool: { 'max-concurrency': number; processes: number[] };
}

describeRedis('process pool autoscale over Redis', () => {
  const queue = uniqueName('pool.autoscale');
  const zeroQueue = uniqueName('pool.autoscale0');
  const hostname = `${uniqueName('scale')}@pool-test`;
  const zeroHostname = `${uniqueName('scale0')}@pool-test`;
  let app: Celery;
  let zeroApp: Celery;
  let worker: PoolWorker;
  let zeroWorker: PoolWorker;

  beforeAll(async () => {
    await buildLibrary();
    app = new Celery({ broker: REDIS_URL, backend: REDIS_URL, taskDefaultQueue: queue, logger: silentLogger });
    zeroApp = new Celery({ broker: REDIS_URL, backend: REDIS_URL, taskDefaultQueue: zeroQueue, logger: silentLogger });
    [worker, zeroWorker] = await Promise.all([
      startPoolWorker(REDIS_URL, REDIS_URL, queue, hostname, { autoscale: [3, 1], autoscaleKeepalive: 1 }),
      startPoolWorker(REDIS_URL, REDIS_URL, zeroQueue, zeroHostname, { autoscale: [2, 0], autoscaleKeepalive: 1 }),
    ]);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([worker?.stop(), zeroWorker?.stop()]);
    await Promise.all([app?.close(), zeroApp?.close()]);
  }, 60_000);

  const stats = async (node = hostname) => (await app.control.inspect({ destination: [node], timeout: 10_000 }).stats())[node] as unknown as Stats;

  it('grows to max under a burst and shrinks back to min after the keepalive', async () => {
    const idle = await stats();
    expect(idle.autoscaler).toEqual({ max: 3, min: 1, current: 1, qty: 0 });
    expect(idle.prefetch_count).toBe(3);
    expect(idle.pool['max-concurrency']).toBe(1);
    expect(idle.pool.processes).toHaveLength(1);

    // 4 s each on a loaded machine: long enough for the pool to be seen at 3 while they run
    const burst = await Promise.all(Array.from({ length: 6 }, () => app.sendTask('pool.sleep', [4000])));
    await eventually(
      async () => {
        const s = await stats();
        return s.autoscaler.current === 3 && s.pool.processes.length === 3;
      },
      'three children under the burst',
      90_000,
      200,
    );
    const pids = await Promise.all(burst.map((r) => r.get({ timeout: 120_000 })));
    // each ran in a child (a pid of its own, not the worker's)
    expect(pids.every((pid) => typeof pid === 'number' && pid !== worker.pid)).toBe(true);
    expect((await stats()).prefetch_count).toBe(3);

    await eventually(
      async () => {
        const s = await stats();
        return s.autoscaler.current === 1 && s.pool.processes.length === 1;
      },
      'one child again after the keepalive',
      60_000,
      200,
    );
    await expect(app.sendTask('pool.add', [1, 2]).then((r) => r.get({ timeout: 60_000 }))).resolves.toBe(3);
  }, 300_000);

  it('min 0 keeps no child until a task comes, then none again after the keepalive', async () => {
    const idle = await stats(zeroHostname);
    expect(idle.autoscaler).toMatchObject({ max: 2, min: 0, current: 0 });
    expect(idle.pool.processes).toEqual([]);
    expect(idle.prefetch_count).toBe(2);
    const pid = await zeroApp.sendTask('pool.sleep', [10]).then((r) => r.get({ timeout: 60_000 }));
    expect(typeof pid).toBe('number');
    await eventually(async () => (await stats(zeroHostname)).pool.processes.length === 0, 'no child after the keepalive', 60_000, 200);
  }, 120_000);
});
