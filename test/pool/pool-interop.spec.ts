/**
 * pool_grow, pool_shrink and autoscale from real Python Celery (5.2, 5.5, 5.6) to a worker with
 * the processes pool, over Redis: each reply, and `inspect stats`' pool field before and after,
 * are checked against a Python prefork worker's answers to the same broadcast.
 */
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { controlPeer } from '../control/support/python-peer.js';
import { eventually } from '../support/eventually.js';
import { peerSuites, startPythonWorker, type PythonEnv, type PythonWorker } from '../support/python.js';
import { REDIS_URL, uniqueName } from '../support/services.js';
import { buildLibrary, startPoolWorker, type PoolWorker } from './support.js';

const PEERS = await peerSuites('pool control with Python Celery', 'redis');

type Pool = Record<string, unknown> & { processes: number[] };

for (const { version, peer, describe: describePeer } of PEERS)
  describePeer(`pool control from Python Celery ${version} over Redis`, () => {
    const queue = uniqueName('pool.ctl');
    const hostname = `${uniqueName('nest-pool')}@pool-test`;
    const env: PythonEnv = { broker: REDIS_URL, backend: REDIS_URL, queue: uniqueName('pool.py'), peer };
    let app: Celery;
    let ours: PoolWorker;
    let python: PythonWorker;

    beforeAll(async () => {
      await buildLibrary();
      app = new Celery({ broker: REDIS_URL, backend: REDIS_URL, taskDefaultQueue: queue, logger: silentLogger });
      [ours, python] = await Promise.all([
        startPoolWorker(REDIS_URL, REDIS_URL, queue, hostname, { concurrency: 2 }),
        startPythonWorker(env, ['-P', 'prefork', '-c', '2']),
      ]);
    }, 300_000);

    afterAll(async () => {
      await Promise.all([ours?.stop(), python?.stop()]);
      await app?.close();
    }, 60_000);

    /** One broadcast from Python to both workers: {nodename: reply}. */
    const broadcast = async (command: string, args: Record<string, unknown>) => {
      const replies = await controlPeer<Record<string, unknown>[]>(env, {
        op: 'broadcast',
        command,
        arguments: args,
        destination: [hostname, python.nodename],
        timeout: 10,
      }).result;
      return Object.assign({}, ...replies) as Record<string, unknown>;
    };
    /** Python's `inspect stats` pool field of both workers. */
    const pools = async () => {
      const out = await controlPeer<{ stats: Record<string, { pool: Pool }> }>(env, {
        op: 'inspect',
        commands: ['stats'],
        destination: [hostname, python.nodename],
        timeout: 10,
      }).result;
      return { ours: out.stats[hostname]?.pool, python: out.stats[python.nodename]?.pool };
    };
    /**
     * A pool field without its pids (they differ), for comparing the two workers: the fields ours
     * has but `implementation` (from 5.5, the pool's class name: prefork's is Celery's, ours is ours).
     */
    const shape = ({ processes, implementation: _implementation, ...rest }: Pool) => ({ ...rest, processes: processes.length });
    const same = (ours: Pool, python: Pool) => {
      const theirs = shape(python) as Record<string, unknown>;
      expect(shape(ours)).toEqual(Object.fromEntries(Object.keys(shape(ours)).map((key) => [key, theirs[key]])));
    };

    it('stats pool, pool_grow, pool_shrink and autoscale answer as a prefork worker does', async () => {
      const before = await pools();
      same(before.ours, before.python);
      expect(shape(before.ours)).toMatchObject({ 'max-concurrency': 2, processes: 2 });

      const grown = await broadcast('pool_grow', { n: 1 });
      expect(grown[hostname]).toEqual(grown[python.nodename]);
      expect(grown[hostname]).toEqual({ ok: 'pool will grow' });
      await eventually(
        async () => {
          const p = await pools();
          return p.ours.processes.length === 3 && p.python.processes.length === 3;
        },
        'three processes on both workers',
        90_000,
        500,
      );
      const afterGrow = await pools();
      same(afterGrow.ours, afterGrow.python);

      const shrunk = await broadcast('pool_shrink', { n: 2 });
      expect(shrunk[hostname]).toEqual(shrunk[python.nodename]);
      expect(shrunk[hostname]).toEqual({ ok: 'pool will shrink' });
      await eventually(async () => (await pools()).ours.processes.length === 1, 'one process', 90_000, 500);
      // prefork's max-concurrency is its configured limit, whatever pool_grow / pool_shrink did
      expect(shape((await pools()).ours)).toMatchObject({ 'max-concurrency': 2, processes: 1 });

      const autoscale = await broadcast('autoscale', { max: 4, min: 1 });
      expect(autoscale[hostname]).toEqual(autoscale[python.nodename]);
      await expect(app.sendTask('pool.add', [2, 2]).then((r) => r.get({ timeout: 60_000 }))).resolves.toBe(4);
    }, 300_000);
  });
