/**
 * Autoscale seen from real Python Celery (5.2, 5.5, 5.6) over Redis: a Python prefork worker started with
 * `--autoscale=3,1` and ours with autoscale [3, 1] (both AUTOSCALE_KEEPALIVE 1 s, prefetch multiplier 1) get the same
 * broadcasts from a Python client, and their answers are compared: `inspect stats` (autoscaler, prefetch_count, pool),
 * pool_grow / pool_shrink refused, `autoscale` with max and min, max only, min only, and (3, 0); both grow to 3 under a
 * burst and shrink back after it, and with min 0 both go to no process and still run the next task.
 */
import { expect } from '@jest/globals';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { controlPeer } from '../control/support/python-peer.js';
import { buildLibrary, startPoolWorker, type PoolWorker } from '../pool/support.js';
import { eventually } from '../support/eventually.js';
import { peerSuites, startPythonWorker, type PythonEnv, type PythonWorker } from '../support/python.js';
import { REDIS_URL, uniqueName } from '../support/services.js';

const PEERS = await peerSuites('autoscale with Python Celery', 'redis');

interface Stats {
  autoscaler: { max: number; min: number; current: number; qty: number };
  prefetch_count: number;
  pool: { 'max-concurrency': number; processes: number[] };
}

for (const { version, peer, describe: describePeer } of PEERS)
  describePeer(`autoscale from Python Celery ${version} over Redis`, () => {
    const queue = uniqueName('autoscale.ours');
    const hostname = `${uniqueName('nest-autoscale')}@autoscale-test`;
    const env: PythonEnv = { broker: REDIS_URL, backend: REDIS_URL, queue: uniqueName('autoscale.py'), peer, env: { AUTOSCALE_KEEPALIVE: '1' } };
    let app: Celery;
    let ours: PoolWorker;
    let python: PythonWorker;

    beforeAll(async () => {
      await buildLibrary();
      app = new Celery({ broker: REDIS_URL, backend: REDIS_URL, taskDefaultQueue: queue, logger: silentLogger });
      [ours, python] = await Promise.all([
        startPoolWorker(REDIS_URL, REDIS_URL, queue, hostname, { autoscale: [3, 1], autoscaleKeepalive: 1 }),
        startPythonWorker(env, ['-P', 'prefork', '--autoscale=3,1', '--prefetch-multiplier', '1'], 60_000),
      ]);
    }, 300_000);

    afterAll(async () => {
      await Promise.all([ours?.stop(), python?.stop()]);
      await app?.close();
    }, 60_000);

    /** One broadcast from Python to both workers: [ours, python's] replies. */
    const broadcast = async (command: string, args: Record<string, unknown>) => {
      const replies = await controlPeer<Record<string, unknown>[]>(env, {
        op: 'broadcast',
        command,
        arguments: args,
        destination: [hostname, python.nodename],
        timeout: 10,
      }).result;
      const all = Object.assign({}, ...replies) as Record<string, unknown>;
      return [all[hostname], all[python.nodename]];
    };
    /** Python's `inspect stats` of both workers: [ours, python's]. */
    const stats = async () => {
      const out = await controlPeer<{ stats: Record<string, Stats> }>(env, {
        op: 'inspect',
        commands: ['stats'],
        destination: [hostname, python.nodename],
        timeout: 10,
      }).result;
      return [out.stats[hostname], out.stats[python.nodename]];
    };
    /** Until both workers' stats satisfy `check` (a timeout names what each showed last). */
    const both = (check: (s: Stats) => boolean, what: string) => {
      let last: unknown;
      const seen = () => JSON.stringify(last, (key, value: unknown) => (key === 'rusage' || key === 'broker' || key === 'total' ? undefined : value));
      return eventually(
        async () => {
          const now = await stats();
          last = now.map((s) => s && { autoscaler: s.autoscaler, processes: s.pool.processes.length });
          return now.every((s) => s !== undefined && check(s));
        },
        `${what} on both workers`,
        120_000,
        250,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; [ours, python's] last: ${seen()}`);
      });
    };
    /** A burst of slow tasks on each worker (`seconds` each). */
    const burst = (n: number, seconds: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          i % 2 ? app.sendTask('pool.sleep', [seconds * 1000]) : app.sendTask('py.sleep', [seconds], {}, { queue: env.queue }),
        ),
      );

    it('stats, pool_grow / pool_shrink and the autoscale command answer as a prefork worker with --autoscale does', async () => {
      const [idleOurs, idlePython] = await stats();
      expect(idlePython.autoscaler).toEqual({ max: 3, min: 1, current: 1, qty: 0 });
      expect(idleOurs.autoscaler).toEqual(idlePython.autoscaler);
      // prefetch follows max (× multiplier 1); prefork's max-concurrency is the size it started with: min
      expect([idleOurs.prefetch_count, idleOurs.pool['max-concurrency']]).toEqual([3, 1]);
      expect([idlePython.prefetch_count, idlePython.pool['max-concurrency']]).toEqual([3, 1]);
      expect(idleOurs.pool.processes).toHaveLength(idlePython.pool.processes.length);

      for (const command of ['pool_grow', 'pool_shrink']) {
        const [oursReply, pythonReply] = await broadcast(command, { n: 1 });
        expect(pythonReply).toEqual({ error: `${command} is not supported with autoscale. Adjust autoscale range instead.` });
        expect(oursReply).toEqual(pythonReply);
      }

      for (const [args, expected] of [
        [{ max: 4, min: 1 }, 'autoscale now max=4 min=1'],
        [{ max: 5 }, 'autoscale now max=5 min=1'],
        [{ min: 2 }, 'autoscale now max=5 min=2'],
        [{}, 'autoscale now max=5 min=2'],
        [{ max: 3, min: 1 }, 'autoscale now max=3 min=1'],
      ] as const) {
        const [oursReply, pythonReply] = await broadcast('autoscale', args);
        expect(pythonReply).toEqual({ ok: expected });
        expect(oursReply).toEqual(pythonReply);
        if ('min' in args && args.min === 2) await both((s) => s.autoscaler.current === 2, 'two processes after min=2');
      }
      const [afterOurs, afterPython] = await stats();
      expect(afterOurs.prefetch_count).toBe(afterPython.prefetch_count);
      expect(afterOurs.autoscaler).toEqual(afterPython.autoscaler);
    }, 300_000);

    it('both grow to max under a burst and shrink back to min after the keepalive; with min 0 to no process', async () => {
      const sent = await burst(12, 3);
      await both((s) => s.autoscaler.current === 3 && s.pool.processes.length === 3, 'three processes under the burst');
      await Promise.all(sent.map((r) => r.get({ timeout: 180_000 })));
      await both((s) => s.autoscaler.current === 1, 'one process after the burst');

      const [oursReply, pythonReply] = await broadcast('autoscale', { max: 3, min: 0 });
      expect(pythonReply).toEqual({ ok: 'autoscale now max=3 min=0' });
      expect(oursReply).toEqual(pythonReply);
      await both((s) => s.autoscaler.current === 0, 'no process with min 0');
      const [idleOurs, idlePython] = await stats();
      expect(idleOurs.autoscaler).toEqual(idlePython.autoscaler);
      const after = await burst(2, 0.1);
      await expect(Promise.all(after.map((r) => r.get({ timeout: 120_000 })))).resolves.toHaveLength(2);
    }, 600_000);
  });
