/**
 * Canvas both ways against real Python Celery, over {RabbitMQ, Redis} × {Redis, RPC}:
 * canvas built in Python runs on our worker, canvas built by our client runs on a Python worker,
 * one chain alternates between both workers, failures in a chain and in a chord header are seen
 * the same way by both clients. Chords need the Redis backend (Celery's rpc:// refuses them);
 * a Python client on a non-native backend sends celery.chord_unlock, which our worker runs.
 * CI time: the full {broker × backend} matrix runs on Celery 5.2; 5.5 and 5.6 run a representative
 * core of two cells (RabbitMQ broker + Redis backend, with chords; Redis broker + RPC backend), every scenario in each.
 */
import { jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import type { AsyncResult } from '../../libs/nestjs-celery/src/engine/async-result.js';
import { GroupResult } from '../../libs/nestjs-celery/src/engine/canvas/index.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { CeleryTaskError } from '../../libs/nestjs-celery/src/protocol/exceptions.js';
import { ValueError } from '../../libs/nestjs-celery/src/protocol/python-errors.js';
import { deleteQueues } from '../support/cleanup.js';
import { peerSuites, startPythonWorker, type PythonEnv, type PythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, uniqueName } from '../support/services.js';
import { build, s, si, withOptions, type Description } from './support/canvas-description.js';
import { pythonCanvas } from './support/python-canvas.js';

const PEERS = await peerSuites('canvas interop with Python Celery', 'redis', 'rabbitmq');
// each test starts a Python client process (about a second) besides the canvas work
jest.setTimeout(60_000);

const BROKERS = { rabbitmq: AMQP_URL, redis: REDIS_URL } as const;
const BACKENDS = { redis: REDIS_URL, rpc: 'rpc://' } as const;
const MATRIX = (Object.keys(BROKERS) as (keyof typeof BROKERS)[]).flatMap((b) =>
  (Object.keys(BACKENDS) as (keyof typeof BACKENDS)[]).map((r) => [b, r] as const),
);
/** The representative core the newer peers run (see the top of this file). */
const CORE = MATRIX.filter(([b, r]) => (b === 'rabbitmq' && r === 'redis') || (b === 'redis' && r === 'rpc'));
const T = { timeout: 20_000 };

const sum = (values: unknown[]) => (values as number[]).reduce((a, b) => a + b, 0);

for (const { version, peer, describe: describeInterop } of PEERS)
  describeInterop.each(version === '5.2' ? MATRIX : CORE)(`canvas interop, Python Celery ${version}: %s broker, %s backend`, (brokerName, backendName) => {
    const brokerUrl = BROKERS[brokerName];
    const backendUrl = BACKENDS[backendName];
    const nodeQ = uniqueName('canvas.node');
    const pyQ = uniqueName('canvas.py');
    const marker = uniqueName('mark');
    /** Python client whose default queue is ours; the Python worker's env */
    const toNode: PythonEnv = { broker: brokerUrl, backend: backendUrl, queue: nodeQ, peer };
    const toPy: PythonEnv = { broker: brokerUrl, backend: backendUrl, queue: pyQ, peer };
    const onNode = <D extends Description>(d: D) => withOptions(d, { queue: nodeQ });
    const onPy = <D extends Description>(d: D) => withOptions(d, { queue: pyQ });
    let redis: Redis;
    let workerApp: Celery;
    let client: Celery;
    let worker: Worker;
    let py: PythonWorker;

    beforeAll(async () => {
      redis = new Redis(REDIS_URL);
      // like a Python worker, ours sends canvas steps without a queue option to its default queue
      workerApp = new Celery({ broker: brokerUrl, backend: backendUrl, taskDefaultQueue: nodeQ, resultExpires: 3600, logger: silentLogger });
      worker = new Worker(workerApp, { queues: [nodeQ], concurrency: 8, logger: silentLogger });
      worker.register('node.add', (args) => sum(args));
      worker.register('node.mul', ([x, y]) => (x as number) * (y as number));
      worker.register('node.tsum', ([values]) => sum(values as unknown[]));
      worker.register('node.double', ([x]) => (x as number) * 2);
      worker.register('node.fail', ([message]) => {
        throw new ValueError(`node: ${String(message)}`);
      });
      worker.register('node.record', async (args) => {
        await redis.setex(`canvas-record:${String(args[args.length - 1])}`, 600, JSON.stringify({ by: 'node', args }));
        return args;
      });
      worker.register('node.errback', async ([taskId, ...rest]) => {
        await redis.setex(`canvas-errback:${String(taskId)}`, 600, JSON.stringify({ by: 'node', args: [taskId, ...rest] }));
        return taskId;
      });
      await worker.start();
      py = await startPythonWorker(toPy, ['--include', 'canvas_tasks']);
      client = new Celery({ broker: brokerUrl, backend: backendUrl, resultExpires: 3600, logger: silentLogger });
    });

    afterAll(async () => {
      await py?.stop();
      await worker?.stop();
      await workerApp?.close();
      await client?.close();
      await deleteQueues(brokerUrl, [nodeQ, pyQ]);
      redis?.disconnect();
    });

    /** A key a Python or Nest errback/record task wrote, once it is there. */
    async function written(key: string): Promise<{ by: string; args: unknown[] }> {
      const end = Date.now() + 15_000;
      for (;;) {
        const raw = await redis.get(key);
        if (raw) {
          await redis.del(key);
          return JSON.parse(raw) as { by: string; args: unknown[] };
        }
        if (Date.now() > end) throw new Error(`${key} was never written`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }

    /** A result's value and the values of its parents, nearest first. */
    async function lineage(result: AsyncResult): Promise<unknown[]> {
      const values: unknown[] = [await result.get(T)];
      for (let p = result.parent; p; p = p.parent) values.push(await (p as AsyncResult).get(T));
      return values;
    }

    test('canvas built in Python runs on our worker: chain, group, link, map, starmap, chunks', async () => {
      const [chain, partial, group, linked, mapped, starmapped, chunked] = await pythonCanvas(toNode, [
        { canvas: { chain: [s('node.add', 2, 2), s('node.add', 4), si('node.mul', 3, 3), s('node.add', 1)] } },
        { canvas: { chain: [s('node.add', 2), s('node.add', 4)] }, args: [1] },
        { canvas: { group: [s('node.add', 1, 1), s('node.mul', 3, 3), s('node.add', 10, 20)] } },
        { canvas: withOptions(s('node.add', 1, 1), { link: s('node.record', `${marker}.py-link`) }) },
        { canvas: { map: s('node.double'), it: [1, 2, 3] } },
        {
          canvas: {
            starmap: s('node.add'),
            it: [
              [1, 2],
              [3, 4],
            ],
          },
        },
        {
          canvas: {
            chunks: s('node.add'),
            it: [
              [1, 1],
              [2, 2],
              [3, 3],
            ],
            n: 2,
          },
        },
      ]);
      expect(chain).toMatchObject({ ok: true, value: 10, kind: 'task' });
      expect(chain.parents.map((p) => p.state)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
      expect(partial).toMatchObject({ ok: true, value: 7 });
      expect(group).toMatchObject({ ok: true, kind: 'group', value: [2, 9, 30] });
      expect(linked).toMatchObject({ ok: true, value: 2 });
      expect(await written(`canvas-record:${marker}.py-link`)).toEqual({ by: 'node', args: [2, `${marker}.py-link`] });
      expect(mapped).toMatchObject({ ok: true, value: [2, 4, 6] });
      expect(starmapped).toMatchObject({ ok: true, value: [3, 7] });
      expect(chunked).toMatchObject({ ok: true, kind: 'group', value: [[2, 4], [6]] });
      if (backendName === 'redis') {
        // our worker stored Celery's lineage: the first step's children is the second step
        const [third, second, first] = chain.parents;
        const meta = await client.asyncResult(first.id).meta();
        expect(meta!.children).toEqual([[[second.id, null], null]]);
        expect((await client.asyncResult(third.id).meta())!.parent_id).toBe(second.id);
      }
    });

    test('canvas built by our client runs on a Python worker: chain, group, link, map, starmap, chunks', async () => {
      const chainResult = await build({ chain: [onPy(s('py.add', 2, 2)), onPy(s('py.add', 4)), onPy(si('py.mul', 3, 3)), onPy(s('py.add', 1))] }).applyAsync(
        client,
      );
      const groupResult = await build({ group: [onPy(s('py.add', 1, 1)), onPy(s('py.mul', 3, 3)), onPy(s('py.add', 10, 20))] }).applyAsync(client);
      const linked = await build(onPy(withOptions(s('py.add', 1, 1), { link: onPy(s('py.record', `${marker}.ts-link`)) }))).applyAsync(client);
      const mapped = await build(onPy({ map: s('py.double'), it: [1, 2, 3] })).applyAsync(client);
      const starmapped = await build(
        onPy({
          starmap: s('py.add'),
          it: [
            [1, 2],
            [3, 4],
          ],
        }),
      ).applyAsync(client);
      const chunked = await build(
        onPy({
          chunks: s('py.add'),
          it: [
            [1, 1],
            [2, 2],
            [3, 3],
          ],
          n: 2,
        }),
      ).applyAsync(client);
      expect(await lineage(chainResult as AsyncResult)).toEqual([10, 9, 8, 4]);
      expect(groupResult).toBeInstanceOf(GroupResult);
      await expect((groupResult as GroupResult).get(T)).resolves.toEqual([2, 9, 30]);
      await expect((linked as AsyncResult).get(T)).resolves.toBe(2);
      expect(await written(`canvas-record:${marker}.ts-link`)).toEqual({ by: 'python', args: [2, `${marker}.ts-link`] });
      await expect((mapped as AsyncResult).get(T)).resolves.toEqual([2, 4, 6]);
      await expect((starmapped as AsyncResult).get(T)).resolves.toEqual([3, 7]);
      await expect((chunked as GroupResult).get(T)).resolves.toEqual([[2, 4], [6]]);
    });

    test("mixed fleet: one chain's steps alternate between Python and Nest workers, built by either client", async () => {
      const alternating: Description = {
        chain: [onPy(s('py.add', 1, 1)), onNode(s('node.add', 2)), onPy(s('py.mul', 3)), onNode(s('node.add', 4)), onPy(s('py.double'))],
      };
      const ours = await build(alternating).applyAsync(client);
      const [theirs, mixedGroup] = await pythonCanvas(toNode, [
        { canvas: alternating },
        { canvas: { group: [onPy(s('py.add', 1, 1)), onNode(s('node.add', 2, 2))] } },
      ]);
      expect(await lineage(ours as AsyncResult)).toEqual([32, 16, 12, 4, 2]);
      expect(theirs).toMatchObject({ ok: true, value: 32 });
      expect(theirs.parents.map((p) => p.state)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
      expect(mixedGroup).toMatchObject({ ok: true, value: [2, 4] });
    });

    test('a failure in the middle of a chain: remaining steps FAILURE, errback run, seen by both clients', async () => {
      // fails on our worker; the errback (on every step) runs on the Python worker
      const nodeFails: Description = {
        chain: [onPy(s('py.add', 1, 1)), onNode(s('node.fail')), onPy(s('py.add', 1)), onNode(s('node.add', 1))],
        options: { link_error: onPy(s('py.errback')) },
      };
      // fails on the Python worker; the errback runs on ours
      const pyFails: Description = {
        chain: [onNode(s('node.add', 1, 1)), onPy(s('py.fail')), onNode(s('node.add', 1))],
        options: { link_error: onNode(s('node.errback')) },
      };
      const [a, b] = await pythonCanvas(toNode, [{ canvas: nodeFails }, { canvas: pyFails }]);
      expect(a).toMatchObject({ ok: false, exc_type: 'ValueError', exc_module: 'builtins', exc_args: ['node: 2'] });
      expect(a.parents.map((p) => p.state)).toEqual(['FAILURE', 'FAILURE', 'SUCCESS']);
      expect(await written(`canvas-errback:${a.parents[1].id}`)).toEqual({ by: 'python', args: [a.parents[1].id] });
      expect(b).toMatchObject({ ok: false, exc_type: 'ValueError', exc_args: [2] });
      expect(b.parents.map((p) => p.state)).toEqual(['FAILURE', 'SUCCESS']);
      expect(await written(`canvas-errback:${b.parents[0].id}`)).toEqual({ by: 'node', args: [b.parents[0].id] });

      for (const [canvas, failedAt, message, by] of [
        [nodeFails, 2, ['node: 2'], 'python'],
        [pyFails, 2, [2], 'node'],
      ] as const) {
        const last = (await build(canvas).applyAsync(client)) as AsyncResult;
        const error = (await last.get(T).catch((e: unknown) => e)) as CeleryTaskError;
        expect(error).toBeInstanceOf(CeleryTaskError);
        expect(error).toMatchObject({ excType: 'ValueError', excMessage: message, state: 'FAILURE' });
        const steps: AsyncResult[] = [];
        for (let r: AsyncResult | null = last; r; r = r.parent as AsyncResult | null) steps.unshift(r);
        const states = await Promise.all(steps.map((r) => r.get({ ...T, propagate: false }).then(() => r.state())));
        expect(states.slice(failedAt - 1)).toEqual(states.slice(failedAt - 1).map(() => 'FAILURE'));
        expect(states.slice(0, failedAt - 1)).toEqual(states.slice(0, failedAt - 1).map(() => 'SUCCESS'));
        expect((await written(`canvas-errback:${steps[failedAt - 1].id}`)).by).toBe(by);
      }
    });

    if (backendName === 'redis') {
      test('chords: native on our worker (built in Python) and on a Python worker (built by us)', async () => {
        const [theirs] = await pythonCanvas(toNode, [
          { canvas: { chord: [s('node.add', 1, 1), s('node.add', 2, 2), s('node.mul', 3, 3)], body: s('node.tsum') } },
        ]);
        expect(theirs).toMatchObject({ ok: true, value: 15 });
        expect(theirs.parents[0]).toMatchObject({ kind: 'group' });
        const ours = (await build({ chord: [onPy(s('py.add', 1, 1)), onPy(s('py.add', 2, 2)), onPy(s('py.mul', 3, 3))], body: onPy(s('py.tsum')) }).applyAsync(
          client,
        )) as AsyncResult;
        await expect(ours.get(T)).resolves.toBe(15);
        await expect((ours.parent as GroupResult).get(T)).resolves.toEqual([2, 4, 9]);
      });

      test('a chord of 100 members across both workers: the body sums their results (both clients)', async () => {
        const header = Array.from({ length: 100 }, (_, i) => (i % 2 ? onNode(s('node.add', i, i)) : onPy(s('py.add', i, i))));
        const expected = Array.from({ length: 100 }, (_, i) => 2 * i);
        const ours = (await build({ chord: header, body: onNode(s('node.tsum')) }).applyAsync(client)) as AsyncResult;
        const [theirs] = await pythonCanvas(toNode, [{ canvas: { chord: header, body: onPy(s('py.tsum')) }, timeout: 60 }]);
        await expect(ours.get({ timeout: 60_000 })).resolves.toBe(9900);
        await expect((ours.parent as GroupResult).get(T)).resolves.toEqual(expected);
        expect(theirs).toMatchObject({ ok: true, value: 9900 });
        // whichever worker completed the chord removed its bookkeeping
        for (const gid of [(ours.parent as GroupResult).id, theirs.parents[0].id]) {
          expect(await redis.exists(`celery-taskset-meta-${gid}.j`, `celery-taskset-meta-${gid}.s`)).toBe(0);
        }
      }, 90_000);

      test('a failure inside a chord header is a ChordError for both clients; the body errback gets the body id', async () => {
        const [theirs] = await pythonCanvas(toNode, [
          {
            canvas: {
              chord: [s('node.add', 1, 1), s('node.fail', 'in header'), s('node.add', 2, 2)],
              body: withOptions(s('node.tsum'), { link_error: s('node.errback') }),
            },
          },
        ]);
        const failedMember = theirs.parents[0].members![1];
        expect(theirs).toMatchObject({
          ok: false,
          exc_type: 'ChordError',
          exc_module: 'celery.exceptions',
          exc_args: [`Dependency ${failedMember} raised ValueError('node: in header')`],
        });
        expect(await written(`canvas-errback:${theirs.id}`)).toEqual({ by: 'node', args: [theirs.id] });

        const ours = (await build({
          chord: [onPy(s('py.add', 1, 1)), onPy(s('py.fail', 'in header')), onPy(s('py.add', 2, 2))],
          body: onPy(withOptions(s('py.tsum'), { link_error: onPy(s('py.errback')) })),
        }).applyAsync(client)) as AsyncResult;
        const error = (await ours.get(T).catch((e: unknown) => e)) as CeleryTaskError;
        const member = (ours.parent as GroupResult).results[1].id;
        expect(error).toMatchObject({
          excType: 'ChordError',
          excModule: 'celery.exceptions',
          excMessage: [`Dependency ${member} raised ValueError('in header')`],
        });
        expect(await written(`canvas-errback:${ours.id}`)).toEqual({ by: 'python', args: [ours.id] });
      });

      test("a Python client's celery.chord_unlock (non-native chord backend) runs on our worker", async () => {
        const unlockEnv: PythonEnv = { ...toNode, backend: `canvas_tasks:UnlockBackend+${REDIS_URL}` };
        const [ok, failed] = await pythonCanvas(unlockEnv, [
          { canvas: { chord: [s('node.add', 1, 1), s('node.add', 2, 2), s('node.mul', 3, 3)], body: s('node.tsum') } },
          { canvas: { chord: [s('node.add', 1, 1), s('node.fail', 'unlock')], body: s('node.tsum') } },
        ]);
        expect(ok).toMatchObject({ ok: true, value: 15 });
        expect(failed).toMatchObject({
          ok: false,
          exc_type: 'ChordError',
          exc_args: [`Dependency ${failed.parents[0].members![1]} raised ValueError('node: unlock')`],
        });
        // the client set no chord size: only celery.chord_unlock could fire the body (our worker
        // still records each part in `.j`, as a Python worker on a Redis backend would)
        expect(await redis.exists(`celery-taskset-meta-${ok.parents[0].id}.s`)).toBe(0);
      });
    }
  });
