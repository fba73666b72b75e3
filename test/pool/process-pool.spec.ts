/**
 * The processes pool (Celery's prefork) end to end: a worker process from the built library whose
 * tasks run in child processes, over real Redis (broker and backend). Hard time limits kill and
 * replace a busy child while the worker keeps answering ping; a crashed child is WorkerLostError
 * (FAILURE, or requeued with reject_on_worker_lost); max_tasks_per_child recycles; stats' pool
 * field lists the children; pool_grow / pool_shrink change them. Python's side of pool_grow and
 * pool_shrink is in pool-interop.spec.ts.
 */
import { expect } from '@jest/globals';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { CeleryTaskError } from '../../libs/nestjs-celery/src/protocol/exceptions.js';
import { eventually } from '../support/eventually.js';
import { describeIfAvailable, REDIS_URL, uniqueName } from '../support/services.js';
import { buildLibrary, startPoolWorker, type PoolWorker } from './support.js';

const describeRedis = await describeIfAvailable('process pool', 'redis');

/** A task's stored outcome: its value, or the CeleryTaskError it failed with. */
const outcome = (app: Celery, id: string) => app.asyncResult(id).get({ timeout: 60_000, propagate: false });

describeRedis('process pool over Redis', () => {
  const queue = uniqueName('pool');
  const requeueQueue = uniqueName('pool.requeue');
  const hostname = `${uniqueName('pool')}@pool-test`;
  let app: Celery;
  let worker: PoolWorker;
  let requeueWorker: PoolWorker;

  beforeAll(async () => {
    await buildLibrary();
    app = new Celery({ broker: REDIS_URL, backend: REDIS_URL, taskDefaultQueue: queue, logger: silentLogger });
    [worker, requeueWorker] = await Promise.all([
      startPoolWorker(REDIS_URL, REDIS_URL, queue, hostname, { concurrency: 2, maxTasksPerChild: 3, rejectOnWorkerLost: false }),
      // Celery's defaults here: acks late, reject_on_worker_lost
      startPoolWorker(REDIS_URL, REDIS_URL, requeueQueue, `${uniqueName('pool-rq')}@pool-test`, { concurrency: 1 }),
    ]);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([worker?.stop(), requeueWorker?.stop()]);
    await app?.close();
  }, 60_000);

  const stats = async () => (await app.control.inspect({ destination: [hostname], timeout: 10_000 }).stats())[hostname];

  it('runs tasks in child processes and reports them in stats like prefork', async () => {
    const pool = (await stats()).pool as Record<string, unknown>;
    expect(pool['max-concurrency']).toBe(2);
    expect(pool['max-tasks-per-child']).toBe(3);
    const processes = pool.processes as number[];
    expect(processes).toHaveLength(2);
    expect(processes).not.toContain(worker.pid);
    const pid = await outcome(app, (await app.sendTask('pool.pid', [])).id);
    expect(processes).toContain(pid);
    await expect(outcome(app, (await app.sendTask('pool.add', [2, 3])).id)).resolves.toBe(5);
  }, 90_000);

  it('hard time limit: kills the busy child, stores TimeLimitExceeded, answers ping meanwhile, and the slot runs the next task', async () => {
    const before = (await stats()).pool as { processes: number[] };
    const spin = await app.sendTask('pool.spin', [], {}, { timeLimit: 4 });
    // both children busy-looping: the parent still answers remote control
    const spin2 = await app.sendTask('pool.spin', [], {}, { timeLimit: 4 });
    await eventually(
      async () => (await app.control.inspect({ destination: [hostname], timeout: 5_000 }).active())[hostname]?.length === 2,
      'both spins running',
      30_000,
    );
    const pong = await app.control.ping({ destination: [hostname], timeout: 5_000 });
    expect(pong).toEqual([{ [hostname]: { ok: 'pong' } }]);
    for (const id of [spin.id, spin2.id]) {
      const failed = await outcome(app, id);
      expect(failed).toBeInstanceOf(CeleryTaskError);
      expect((failed as CeleryTaskError).excType).toBe('TimeLimitExceeded');
    }
    await expect(outcome(app, (await app.sendTask('pool.add', [1, 1])).id)).resolves.toBe(2);
    const after = (await stats()).pool as { processes: number[] };
    expect(after.processes).toHaveLength(2);
    expect(after.processes.filter((pid) => before.processes.includes(pid))).toHaveLength(0);
  }, 300_000);

  it('soft time limit aborts the task signal in the child', async () => {
    const task = await app.sendTask('pool.wait_abort', [], {}, { softTimeLimit: 1, timeLimit: 30 });
    const failed = (await outcome(app, task.id)) as CeleryTaskError;
    expect(failed).toBeInstanceOf(CeleryTaskError);
    expect(failed.excType).toBe('SoftTimeLimitExceeded');
  }, 90_000);

  it('a crashed child: FAILURE WorkerLostError (reject_on_worker_lost off), and the pool replaces the child', async () => {
    const failed = (await outcome(app, (await app.sendTask('pool.crash_once', [])).id)) as CeleryTaskError;
    expect(failed).toBeInstanceOf(CeleryTaskError);
    expect(failed.excType).toBe('WorkerLostError');
    expect(failed.message).toMatch(/Worker exited prematurely: signal 9 \(SIGKILL\) Job: \d+\./);
    await eventually(async () => ((await stats()).pool as { processes: number[] }).processes.length === 2, 'a replacement child', 30_000);
    await expect(outcome(app, (await app.sendTask('pool.add', [4, 4])).id)).resolves.toBe(8);
  }, 300_000);

  it('a crashed child with acks_late and reject_on_worker_lost: the message is requeued and runs again', async () => {
    const task = await app.sendTask('pool.crash_once', [], {}, { queue: requeueQueue });
    await expect(outcome(app, task.id)).resolves.toBe('survived');
  }, 300_000);

  it('updateState from a child is stored by the parent', async () => {
    await expect(outcome(app, (await app.sendTask('pool.update_state', [])).id)).resolves.toBe('updated');
  }, 60_000);

  it('max_tasks_per_child: a child is replaced after 3 tasks', async () => {
    const pids: unknown[] = [];
    // one at a time, so each task goes to whichever child is free
    for (let i = 0; i < 12; i++) pids.push(await outcome(app, (await app.sendTask('pool.pid', [])).id));
    const runsPerPid = new Map<unknown, number>();
    for (const pid of pids) runsPerPid.set(pid, (runsPerPid.get(pid) ?? 0) + 1);
    expect(Math.max(...runsPerPid.values())).toBeLessThanOrEqual(3);
    expect(runsPerPid.size).toBeGreaterThanOrEqual(4);
  }, 300_000);

  it('pool_grow and pool_shrink change the children and the prefetch count; past 4 × the configured size is refused', async () => {
    expect(await app.control.broadcast('pool_grow', { destination: [hostname], arguments: { n: 2 }, reply: true, timeout: 10_000 })).toEqual([
      { [hostname]: { ok: 'pool will grow' } },
    ]);
    await eventually(
      async () => {
        const s = await stats();
        const pool = s.pool as { processes: number[]; 'max-concurrency': number };
        // as prefork's, max-concurrency stays the configured size
        return pool['max-concurrency'] === 2 && pool.processes.length === 4 && s.prefetch_count === 4;
      },
      'four children',
      60_000,
    );
    expect(await app.control.broadcast('pool_shrink', { destination: [hostname], arguments: { n: 3 }, reply: true, timeout: 10_000 })).toEqual([
      { [hostname]: { ok: 'pool will shrink' } },
    ]);
    await eventually(async () => ((await stats()).pool as { processes: number[] }).processes.length === 1, 'one child', 60_000);
    await expect(outcome(app, (await app.sendTask('pool.add', [5, 5])).id)).resolves.toBe(10);
    const refused = await app.control.broadcast('pool_grow', { destination: [hostname], arguments: { n: 100 }, reply: true, timeout: 10_000 });
    expect(refused).toEqual([{ [hostname]: { error: expect.stringMatching(/^ValueError\('the pool cannot grow past 8/) } }]);
    expect(await app.control.broadcast('autoscale', { destination: [hostname], arguments: { max: 4, min: 1 }, reply: true, timeout: 10_000 })).toEqual([
      { [hostname]: { error: "ValueError('Autoscale not enabled')" } },
    ]);
  }, 180_000);
});
