/**
 * Remote control (pidbox) against real Python Celery 5.2, 5.5 and 5.6 (every version the README claims), on RabbitMQ and on Redis: the
 * `celery` CLI and `app.control` from Python see, inspect and revoke our worker; our
 * `app.control` and `AsyncResult.revoke()` reach Python workers.
 * CI time: Celery 5.2 runs every scenario on both brokers; 5.5 and 5.6 run every scenario on the Redis
 * broker (the pidbox is the same on both; our ping and revoke to their workers over RabbitMQ are in
 * test/interop/quorum-interop.spec.ts).
 */
import { expect, jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import type { TaskContext } from '../../libs/nestjs-celery/src/engine/worker/task-context.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { CeleryTaskError } from '../../libs/nestjs-celery/src/protocol/exceptions.js';
import { TaskRevokedError } from '../../libs/nestjs-celery/src/protocol/python-errors.js';
import { deleteQueues } from '../support/cleanup.js';
import { peerSuites, startPythonWorker, type PythonEnv, type PythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, uniqueName } from '../support/services.js';
import { waitFor } from '../e2e/support/wait-for.js';
import { celeryCli, cliJson, controlPeer, removeRedisReplyQueue } from './support/python-peer.js';

const PEERS = await peerSuites('remote control with Python Celery', 'redis', 'rabbitmq');

const BROKERS = [
  ['rabbitmq', AMQP_URL],
  ['redis', REDIS_URL],
] as const;

/**
 * Long enough for a Python process to start and revoke the task before it is due, on a loaded 2-core CI machine
 * (at load average 23 a `celery` CLI took over 10 s to start, and the task ran before the revoke arrived).
 */
const REVOKE_COUNTDOWN = 25;

// each test starts one or more Python processes (the `celery` CLI, a control peer): on a loaded 2-core machine
// four CLIs started side by side took over 30 s
jest.setTimeout(120_000);

/** The stored outcome of a task our app sent, as an error when it did not succeed. */
async function outcome(app: Celery, id: string, timeout = 15_000): Promise<unknown> {
  return app.asyncResult(id).get({ timeout, propagate: false });
}

for (const { version, peer, describe: describeControl } of PEERS)
  describeControl.each(version === '5.2' ? BROKERS : BROKERS.filter(([name]) => name === 'redis'))(
    `remote control with Python Celery ${version} over %s`,
    (_name, brokerUrl) => {
      const nodename = `${uniqueName('nest')}@control-test`;
      const queue = uniqueName('control.node');
      const pyQueue = uniqueName('control.py');
      // every peer with its Celery's default control settings on RabbitMQ 3.x: transient, non-exclusive
      // pidbox queues (5.6's control_queue_exclusive defaults off; the matrix turns it on only for 4.3)
      const env: PythonEnv = { broker: brokerUrl, backend: REDIS_URL, queue, peer, env: { INTEROP_EXCLUSIVE_QUEUES: '0' } };
      let app: Celery;
      let worker: Worker;
      let pyWorker: PythonWorker;
      let pyNode: string;
      const ran: string[] = [];
      const aborted = new Map<string, unknown>();

      beforeAll(async () => {
        // Celery 5.2 declares pidbox queues transient and non-exclusive (control_queue_exclusive came
        // with 5.6, exclusive by default since the RabbitMQ 4.3 fix): the 5.2 fleet's settings, so the
        // declarations below can be compared (an exclusive queue refuses other connections by design)
        app = new Celery({ broker: brokerUrl, backend: REDIS_URL, logger: silentLogger, controlQueueExclusive: false });
        worker = new Worker(app, { hostname: nodename, queues: [queue], concurrency: 4, logger: silentLogger });
        worker.register('ctl.add', ([x, y], _kwargs, ctx: TaskContext) => {
          ran.push(ctx.id);
          return (x as number) + (y as number);
        });
        // runs until its signal is aborted (or 20 s), remembering why it stopped
        worker.register('ctl.wait', (_args, _kwargs, ctx: TaskContext) => {
          ran.push(ctx.id);
          return new Promise((resolve) => {
            const timer = setTimeout(() => resolve('not aborted'), 20_000);
            ctx.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              aborted.set(ctx.id, ctx.signal.reason);
              resolve('aborted');
            });
          });
        });
        const [py] = await Promise.all([startPythonWorker({ ...env, queue: pyQueue }), worker.start()]);
        pyWorker = py;
        pyNode = /(py-[\w-]+@\S+) ready\./.exec(pyWorker.output())![1];
      });

      afterAll(async () => {
        await pyWorker?.stop();
        await worker?.stop();
        await app?.close();
        await deleteQueues(brokerUrl, [queue, pyQueue]);
        if (brokerUrl.startsWith('redis')) await removeRedisReplyQueue(app.control.mailbox.oid);
      });

      test('Python declares our node queue, our reply queue, the mailbox exchanges and celeryev exactly as we did', async () => {
        await app.control.ping({ destination: [nodename] }); // our reply queue exists from here on
        const oid = app.control.mailbox.oid;
        if (brokerUrl.startsWith('redis')) {
          // kombu's binding members, byte for byte
          const redis = new Redis(REDIS_URL);
          try {
            const node = await redis.smembers('_kombu.binding.celery.pidbox');
            expect(node.filter((m) => m.endsWith(`${nodename}.celery.pidbox`))).toEqual([`\x06\x16\x06\x16${nodename}.celery.pidbox`]);
            const reply = await redis.smembers('_kombu.binding.reply.celery.pidbox');
            expect(reply.filter((m) => m.startsWith(oid))).toEqual([`${oid}\x06\x16\x06\x16${oid}.reply.celery.pidbox`]);
          } finally {
            redis.disconnect();
          }
        }
        // RabbitMQ answers PRECONDITION_FAILED to any declaration that differs from the existing one
        const declared = await controlPeer(env, { op: 'declare', hostname: nodename, oid }).result;
        expect(declared).toEqual({ node_queue: 'ok', reply_queue: 'ok', mailbox_exchange: 'ok', reply_exchange: 'ok', event_exchange: 'ok' });
        // and we still answer (on Redis, kombu's channel close dropped the auto-delete binding it re-added)
        expect(await app.control.ping({ destination: [nodename] })).toEqual([{ [nodename]: { ok: 'pong' } }]);
      });

      test('celery inspect ping -d <our node> and celery status list our worker', async () => {
        const [ping, status] = await Promise.all([celeryCli(env, ['inspect', 'ping', '-d', nodename, '-j']), celeryCli(env, ['status', '-d', nodename])]);
        expect(cliJson(ping)).toEqual({ [nodename]: { ok: 'pong' } });
        expect(status.code).toBe(0);
        expect(status.stdout).toContain(`${nodename}: OK`);
        expect(status.stdout).toContain('1 node online.');
      });

      test('celery inspect registered / active_queues / stats / clock read our worker', async () => {
        const [registered, queues, stats, clock] = await Promise.all(
          ['registered', 'active_queues', 'stats', 'clock'].map((cmd) => celeryCli(env, ['inspect', cmd, '-d', nodename, '-j'])),
        );
        expect(cliJson(registered)).toEqual({ [nodename]: ['ctl.add', 'ctl.wait'] });
        const [q] = cliJson<Record<string, Record<string, unknown>[]>>(queues)[nodename];
        expect(q).toMatchObject({ name: queue, routing_key: queue, durable: true, exchange: { name: queue, type: 'direct', durable: true } });
        const s = cliJson<Record<string, Record<string, unknown>>>(stats)[nodename];
        expect(s).toMatchObject({
          pid: process.pid,
          prefetch_count: 4,
          pool: { 'max-concurrency': 4 },
          broker: { transport: brokerUrl.startsWith('redis') ? 'redis' : 'amqp' },
        });
        expect(typeof s.clock).toBe('string');
        expect(cliJson<Record<string, { clock: number }>>(clock)[nodename].clock).toBeGreaterThan(0);
      });

      test("Python app.control.revoke(id) → our worker skips the countdown task and stores REVOKED('revoked')", async () => {
        const result = await app.sendTask('ctl.add', [1, 2], {}, { queue, countdown: REVOKE_COUNTDOWN });
        await waitFor(() => worker.node.state.scheduledInfo().some((s) => s.request.id === result.id), undefined, 'the task to be scheduled');
        await controlPeer(env, { op: 'revoke', task_id: result.id }).result;
        await waitFor(() => worker.node.state.revoked.has(result.id), undefined, 'the revoke to arrive');
        const error = (await outcome(app, result.id, REVOKE_COUNTDOWN * 1000 + 15_000)) as CeleryTaskError;
        expect(error).toBeInstanceOf(CeleryTaskError);
        expect(error).toMatchObject({ state: 'REVOKED', excType: 'TaskRevokedError', excModule: 'celery.exceptions', excMessage: ['revoked'] });
        expect(ran).not.toContain(result.id);
      }, 120_000);

      test('celery control revoke <id> replies "flagged as revoked" and the task is REVOKED', async () => {
        const result = await app.sendTask('ctl.add', [2, 2], {}, { queue, countdown: REVOKE_COUNTDOWN });
        const run = await celeryCli(env, ['control', 'revoke', result.id, '-d', nodename, '-j']);
        expect(cliJson(run)).toEqual([{ [nodename]: { ok: `tasks ${result.id} flagged as revoked` } }]);
        expect(await outcome(app, result.id, REVOKE_COUNTDOWN * 1000 + 15_000)).toMatchObject({ state: 'REVOKED', excMessage: ['revoked'] });
        expect(ran).not.toContain(result.id);
      }, 120_000);

      test('revoke(terminate=True) from Python aborts the running task: signal aborted, REVOKED(terminated)', async () => {
        const result = await app.sendTask('ctl.wait', [], {}, { queue });
        await waitFor(() => worker.running.has(result.id), undefined, 'the task to start');
        const active = cliJson<Record<string, { id: string; name: string; time_start: number; hostname: string }[]>>(
          await celeryCli(env, ['inspect', 'active', '-d', nodename, '-j']),
        );
        expect(active[nodename]).toEqual([expect.objectContaining({ id: result.id, name: 'ctl.wait', hostname: nodename, time_start: expect.any(Number) })]);
        const replies = await controlPeer<Record<string, { ok: string }>[]>(env, {
          op: 'broadcast',
          command: 'revoke',
          arguments: { task_id: result.id, terminate: true, signal: 'SIGTERM' },
          destination: [nodename],
        }).result;
        expect(replies).toEqual([{ [nodename]: { ok: `terminate: ${result.id}` } }]);
        expect(await outcome(app, result.id)).toMatchObject({ state: 'REVOKED', excType: 'TaskRevokedError', excMessage: ['terminated'] });
        await waitFor(() => aborted.has(result.id), undefined, 'the handler to see the abort');
        expect(aborted.get(result.id)).toBeInstanceOf(TaskRevokedError);
        // the handler's own return value ('aborted') did not overwrite REVOKED
        await new Promise((r) => setTimeout(r, 200));
        expect(await app.asyncResult(result.id).state()).toBe('REVOKED');
      });

      test('our AsyncResult.revoke() → a Python worker skips the task and stores REVOKED', async () => {
        const result = await app.sendTask('py.add', [1, 1], {}, { queue: pyQueue, countdown: 1.5 });
        await result.revoke();
        const error = (await result.get({ timeout: 15_000 }).catch((e: unknown) => e)) as CeleryTaskError;
        expect(error).toMatchObject({ state: 'REVOKED', excType: 'TaskRevokedError', excMessage: ['revoked'] });
      });

      test('our app.control: ping and inspect list the Python worker; revoke(reply) gets its answer', async () => {
        expect(await app.control.ping({ destination: [pyNode] })).toEqual([{ [pyNode]: { ok: 'pong' } }]);
        const everyone = await app.control.ping({ timeout: 500 });
        expect(everyone).toEqual(expect.arrayContaining([{ [pyNode]: { ok: 'pong' } }, { [nodename]: { ok: 'pong' } }]));
        const registered = await app.control.inspect({ destination: [pyNode] }).registered();
        expect(registered[pyNode]).toEqual(expect.arrayContaining(['py.add', 'py.echo']));
        const replies = await app.control.revoke('00000000-0000-4000-8000-000000000000', { destination: [pyNode], reply: true });
        // the Python worker's own words: 5.5 and 5.6 print the revoked ids as a Python set
        const flagged = version === '5.2' ? '00000000-0000-4000-8000-000000000000' : "{'00000000-0000-4000-8000-000000000000'}";
        expect(replies).toEqual([{ [pyNode]: { ok: `tasks ${flagged} flagged as revoked` } }]);
        expect((await app.control.inspect({ destination: [pyNode] }).revoked())[pyNode]).toContain('00000000-0000-4000-8000-000000000000');
      });

      test('mingle: a Python hello gets our revoked ids in the shape its LimitedSet accepts, and the clock', async () => {
        const replies = await controlPeer<{ reply: { revoked: Record<string, [number, string]>; clock: number }; accepted: string[] }>(env, {
          op: 'hello',
          destination: [nodename],
          revoked_ids: ['from-python-id'],
        }).result;
        expect(replies.reply.clock).toBeGreaterThan(0);
        expect(replies.accepted).toEqual(expect.arrayContaining(Object.keys(replies.reply.revoked)));
        expect(replies.accepted).toContain('from-python-id');
        expect(worker.node.state.revoked.has('from-python-id')).toBe(true);
      });

      test('an unknown command replies KeyError like Python; pattern matching picks nodes by glob', async () => {
        const replies = await controlPeer<Record<string, unknown>[]>(env, { op: 'broadcast', command: 'no_such_command', destination: [nodename] }).result;
        expect(replies).toEqual([{ [nodename]: { error: "KeyError('no_such_command')" } }]);
        const byPattern = await app.control.broadcast('ping', { pattern: `${nodename.split('@')[0]}@*`, matcher: 'glob', reply: true, timeout: 500 });
        expect(byPattern).toEqual([{ [nodename]: { ok: 'pong' } }]);
      });
    },
  );
