/**
 * Retries, expiry and time limits against real Python Celery 5.2, 5.5 and 5.6, on RabbitMQ and Redis
 * (Redis results): a Python client watches our worker's states, our client watches a Python
 * worker retrying.
 */
import { firstValueFrom, takeWhile, toArray } from 'rxjs';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { isReady } from '../../libs/nestjs-celery/src/protocol/states.js';
import { ConnectionError, ValueError } from '../../libs/nestjs-celery/src/protocol/python-errors.js';
import { deleteQueues } from '../support/cleanup.js';
import { peerSuites, runPython, startPythonWorker, type PythonCall, type PythonEnv, type PythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, uniqueName } from '../support/services.js';

const PEERS = await peerSuites('worker ops interop with Python Celery', 'redis', 'rabbitmq');

/** What test/interop/python/ops_client.py reports per call. */
interface Watched {
  id: string;
  states: string[];
  state: string;
  result?: unknown;
  exc_type?: string;
  exc_module?: string;
  exc_args?: unknown[];
  meta?: { status: string; result: unknown; traceback: string | null };
}

const watch = (env: PythonEnv, calls: PythonCall[], timeoutSeconds = 20) =>
  runPython<Watched[]>('ops_client.py', env, calls, [String(timeoutSeconds)], (timeoutSeconds + 30) * 1000);

/** Resolves when `signal` aborts; never otherwise (a handler that honours its AbortSignal). */
const aborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

const BROKERS = [
  ['rabbitmq', AMQP_URL],
  ['redis', REDIS_URL],
] as const;

for (const { version, peer, describe: describeInterop } of PEERS)
  describeInterop.each(BROKERS)(`worker ops × Python Celery ${version}: %s broker, Redis results`, (_name, brokerUrl) => {
    const nodeQueue = uniqueName('ops.node');
    const pyQueue = uniqueName('ops.py');
    const toNode: PythonEnv = { broker: brokerUrl, backend: REDIS_URL, queue: nodeQueue, peer };
    let app: Celery;
    let worker: Worker;
    let pyWorker: PythonWorker;
    const attempts = new Map<string, number>();
    const count = (id: string) => attempts.set(id, (attempts.get(id) ?? 0) + 1).get(id)!;

    beforeAll(async () => {
      app = new Celery({ broker: brokerUrl, backend: REDIS_URL, logger: silentLogger });
      worker = new Worker(app, { queues: [nodeQueue], logger: silentLogger, concurrency: 4 });
      worker.register('node.flaky', async (_args, _kwargs, ctx) => {
        count(ctx.id);
        if (ctx.retries < 2) return ctx.retry({ countdown: 0.4, exc: new ValueError(`flaky ${ctx.retries}`) });
        return { attempts: ctx.retries + 1 };
      });
      worker.register('node.always_retry', (_args, _kwargs, ctx) => ctx.retry({ countdown: 0.5 }), { maxRetries: 1 });
      worker.register(
        'node.auto',
        (_args, _kwargs, ctx) => {
          if (count(ctx.id) < 3) throw new ConnectionError('broker of a third party is down');
          return 'connected';
        },
        { autoretryFor: [ConnectionError], retryBackoff: 0.2, retryJitter: false },
      );
      worker.register(
        'node.auto_exhausted',
        () => {
          throw new ConnectionError('still down');
        },
        { autoretryFor: [ConnectionError], defaultRetryDelay: 0.5, maxRetries: 2 },
      );
      worker.register('node.cooperative', (_args, _kwargs, ctx) => aborted(ctx.signal));
      worker.register('node.stubborn', () => sleep(30_000, 'too late', { ref: false }));
      worker.register('node.limited', (_args, _kwargs, ctx) => aborted(ctx.signal), { softTimeLimit: 0.3 });
      worker.register('node.hard_limited', () => sleep(3000, 'too late', { ref: false }), { timeLimit: 0.3 });
      worker.register('node.add', ([x, y]) => (x as number) + (y as number));
      await worker.start();
      pyWorker = await startPythonWorker({ broker: brokerUrl, backend: REDIS_URL, queue: pyQueue, peer });
    }, 60_000);

    afterAll(async () => {
      await pyWorker?.stop();
      await worker?.stop(2000);
      await app?.close();
      await deleteQueues(brokerUrl, [nodeQueue, pyQueue]);
    });

    test('ctx.retry: Python sees RETRY (with the cause) then SUCCESS; the same task id runs three times', async () => {
      const [o] = await watch(toNode, [{ task: 'node.flaky' }]);
      expect(o.states.filter((s) => s !== 'PENDING')).toEqual(['RETRY', 'SUCCESS']);
      expect(o).toMatchObject({ state: 'SUCCESS', result: { attempts: 3 } });
      expect(attempts.get(o.id)).toBe(3);
    });

    test('past maxRetries: FAILURE with MaxRetriesExceededError, the class Python maps back', async () => {
      const [o] = await watch(toNode, [{ task: 'node.always_retry', args: [1] }]);
      expect(o.states.filter((s) => s !== 'PENDING')).toEqual(['RETRY', 'FAILURE']);
      expect(o).toMatchObject({ state: 'FAILURE', exc_type: 'MaxRetriesExceededError', exc_module: 'celery.exceptions' });
      expect(o.exc_args).toEqual([`Can't retry node.always_retry[${o.id}] args:(1,) kwargs:{}`]);
    });

    test('autoretryFor with backoff: RETRY then SUCCESS; exhausted, the original error type fails the task', async () => {
      const [ok, exhausted] = await watch(toNode, [{ task: 'node.auto' }, { task: 'node.auto_exhausted' }]);
      expect(ok.states.filter((s) => s !== 'PENDING')).toEqual(['RETRY', 'SUCCESS']);
      expect(ok.result).toBe('connected');
      // Celery re-raises the exc given to retry() once retries run out (autoretry always gives one)
      expect(exhausted).toMatchObject({ state: 'FAILURE', exc_type: 'ConnectionError', exc_module: 'builtins', exc_args: ['still down'] });
      expect(exhausted.states).toContain('RETRY');
    });

    test('RETRY is stored as Celery stores it: the cause as an exception dict, a Retry traceback', async () => {
      const id = uniqueName('retry-meta');
      const seen = firstValueFrom(
        app.asyncResult(id).state$.pipe(
          takeWhile((m) => m.status !== 'RETRY', true),
          toArray(),
        ),
      );
      await app.sendTask('node.flaky', [], {}, { taskId: id, queue: nodeQueue });
      const retry = (await seen).at(-1)!;
      // as Python's worker stores it (checked against py.retry_twice): the next attempt is a child
      expect(retry).toMatchObject({
        status: 'RETRY',
        result: { exc_type: 'ValueError', exc_module: 'builtins', exc_message: ['flaky 0'] },
        date_done: null,
        children: [[[id, null], null]],
      });
      expect(retry.traceback).toMatch(/celery\.exceptions\.Retry: Retry in 0\.4s: ValueError\('flaky 0'\)\n$/);
      await app.asyncResult(id).get({ timeout: 10_000 });
    });

    test('expires: Python sees REVOKED with TaskRevokedError("expired") for a task that expired before it could run', async () => {
      // the countdown keeps it waiting past its expiry, on either broker
      const [o] = await watch(toNode, [{ task: 'node.add', args: [1, 2], options: { countdown: 1, expires: 0.5 } }]);
      expect(o).toMatchObject({ state: 'REVOKED', exc_type: 'TaskRevokedError', exc_module: 'celery.exceptions', exc_args: ['expired'] });
    });

    test('time limits from the timelimit header: SoftTimeLimitExceeded for a handler that listens, TimeLimitExceeded for one that does not', async () => {
      const started = Date.now();
      const [soft, hard] = await watch(toNode, [
        { task: 'node.cooperative', options: { soft_time_limit: 0.3, time_limit: 5 } },
        { task: 'node.stubborn', options: { soft_time_limit: 0.2, time_limit: 0.5 } },
      ]);
      expect(soft).toMatchObject({ state: 'FAILURE', exc_type: 'SoftTimeLimitExceeded', exc_module: 'billiard.exceptions' });
      expect(hard).toMatchObject({ state: 'FAILURE', exc_type: 'TimeLimitExceeded', exc_module: 'billiard.exceptions', exc_args: [0.5] });
      expect(hard.meta?.traceback).toBeNull();
      expect(Date.now() - started).toBeLessThan(20_000); // not waiting for the stubborn handler's 30 s (generous: a Python client starts in between)
    });

    test('time limits from task options', async () => {
      const [soft, hard] = await watch(toNode, [{ task: 'node.limited' }, { task: 'node.hard_limited' }]);
      expect(soft).toMatchObject({ state: 'FAILURE', exc_type: 'SoftTimeLimitExceeded', exc_module: 'billiard.exceptions' });
      expect(hard).toMatchObject({ state: 'FAILURE', exc_type: 'TimeLimitExceeded', exc_args: [0.3] });
    });

    test('a Python task retrying itself (self.retry): our client sees RETRY then SUCCESS', async () => {
      const result = await app.sendTask('py.retry_twice', [], {}, { queue: pyQueue });
      const states = await firstValueFrom(
        result.state$.pipe(
          takeWhile((m) => !isReady(m.status), true),
          toArray(),
        ),
      );
      const names = states.map((m) => m.status).filter((s, i, all) => s !== 'PENDING' && s !== all[i - 1]);
      expect(names).toEqual(['RETRY', 'SUCCESS']);
      const retry = states.find((m) => m.status === 'RETRY')!;
      expect(retry).toMatchObject({ result: { exc_type: 'ValueError', exc_module: 'builtins' }, children: [[[result.id, null], null]], date_done: null });
      expect(retry.traceback).toContain('celery.exceptions.Retry: Retry in 0.4s');
      await expect(result.get({ timeout: 10_000 })).resolves.toEqual({ attempts: 3 });
    });

    test('a Python task past its max_retries: our client gets MaxRetriesExceededError', async () => {
      const result = await app.sendTask('py.retry_forever', [], {}, { queue: pyQueue });
      await expect(result.get({ timeout: 10_000 })).rejects.toMatchObject({ excType: 'MaxRetriesExceededError', excModule: 'celery.exceptions' });
    });
  });
