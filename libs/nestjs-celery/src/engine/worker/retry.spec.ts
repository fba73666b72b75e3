import { firstValueFrom, takeWhile, toArray } from 'rxjs';
import { silentLogger } from '../../common/logger.js';
import type { ExceptionInfo } from '../../protocol/exceptions.js';
import { ConnectionError, MaxRetriesExceededError, ValueError } from '../../protocol/python-errors.js';
import { isReady } from '../../protocol/states.js';
import type { TaskRequest } from '../../protocol/task-message.js';
import { MemoryBackend } from '../../transport/memory/memory.backend.js';
import { MemoryBroker } from '../../transport/memory/memory.broker.js';
import { Celery } from '../celery.js';
import { exponentialBackoff } from './retry.js';
import type { TaskContext } from './task-context.js';
import { Worker } from './worker.js';

let seq = 0;
async function setup() {
  const name = `retry-spec-${process.pid}-${++seq}`;
  const app = new Celery({ broker: new MemoryBroker(`memory://${name}`), backend: new MemoryBackend(`memory://${name}`), logger: silentLogger });
  const worker = new Worker(app, { logger: silentLogger, concurrency: 4 });
  return { app, worker, broker: app.broker as MemoryBroker };
}

/** Every state a result goes through, up to the ready one. */
async function statesOf(app: Celery, id: string) {
  return firstValueFrom(
    app.asyncResult(id).state$.pipe(
      takeWhile((m) => !isReady(m.status), true),
      toArray(),
    ),
  );
}

describe('exponentialBackoff (Celery get_exponential_backoff_interval)', () => {
  test('factor × 2^retries, capped, whole seconds with full jitter', () => {
    expect([0, 1, 2, 3, 10].map((r) => exponentialBackoff(1, r, 600, false))).toEqual([1, 2, 4, 8, 600]);
    expect(exponentialBackoff(3, 2, 600, false)).toBe(12);
    // random.randrange(countdown + 1): 0 … countdown inclusive
    expect(exponentialBackoff(1, 3, 600, true, () => 0)).toBe(0);
    expect(exponentialBackoff(1, 3, 600, true, () => 0.999)).toBe(8);
    expect(exponentialBackoff(1, 20, 600, true, () => 0.5)).toBe(300);
  });
});

describe('ctx.retry (memory transport)', () => {
  test('RETRY with the cause between attempts, then SUCCESS; the next attempt carries retries+1, the same ids and queue', async () => {
    const { app, worker } = await setup();
    const requests: TaskRequest[] = [];
    worker.register('t.flaky', async (_a, _k, ctx) => {
      requests.push(ctx.request);
      if (ctx.retries < 2) return ctx.retry({ countdown: 0.05, exc: new ValueError(`try ${ctx.retries}`) });
      return 'ok';
    });
    await worker.start();
    const id = 'flaky-1';
    const states = statesOf(app, id);
    const sent = Date.now();
    await app.sendTask('t.flaky', [1], { k: 2 }, { taskId: id });
    const seen = await states;
    expect(seen.map((m) => m.status).filter((s, i, all) => s !== all[i - 1])).toEqual(['RETRY', 'SUCCESS']);
    const retry = seen.find((m) => m.status === 'RETRY')!;
    expect(retry.result).toEqual({ exc_type: 'ValueError', exc_message: ['try 0'], exc_module: 'builtins' } satisfies ExceptionInfo);
    expect(retry.traceback).toMatch(/celery\.exceptions\.Retry: Retry in 0\.05s: ValueError\('try 0'\)\n$/);
    expect(requests.map((r) => [r.id, r.retries, r.rootId, r.args, r.kwargs])).toEqual([
      [id, 0, id, [1], { k: 2 }],
      [id, 1, id, [1], { k: 2 }],
      [id, 2, id, [1], { k: 2 }],
    ]);
    // Celery's send_task from inside the task: a top-level task is its own retry's parent
    expect(requests[1].parentId).toBe(id);
    expect(requests[1].eta!.getTime()).toBeGreaterThanOrEqual(sent + 40);
    expect(requests[1].replyTo).toBe(requests[0].replyTo);
    await worker.stop();
    await app.close();
  });

  test('past maxRetries: MaxRetriesExceededError (catchable in the handler), or the given exc as is', async () => {
    const { app, worker } = await setup();
    worker.register('t.forever', (_a, _k, ctx) => ctx.retry({ countdown: 0 }), { maxRetries: 2 });
    worker.register('t.with_exc', (_a, _k, ctx) => ctx.retry({ countdown: 0, exc: new ConnectionError('down') }), { maxRetries: 1 });
    worker.register('t.catches', async (_a, _k, ctx) => {
      try {
        return await ctx.retry({ countdown: 0, maxRetries: 0 });
      } catch (error) {
        if (error instanceof MaxRetriesExceededError) return 'gave up';
        throw error;
      }
    });
    await worker.start();
    const forever = await app.sendTask('t.forever', [7]);
    const error = await forever.get({ timeout: 2000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      excType: 'MaxRetriesExceededError',
      excModule: 'celery.exceptions',
      excMessage: [`Can't retry t.forever[${forever.id}] args:(7,) kwargs:{}`],
    });
    await expect((await app.sendTask('t.with_exc')).get({ timeout: 2000 })).rejects.toMatchObject({ excType: 'ConnectionError', excMessage: ['down'] });
    await expect((await app.sendTask('t.catches')).get({ timeout: 2000 })).resolves.toBe('gave up');
    await worker.stop();
    await app.close();
  });

  test('maxRetries null retries until the handler stops asking; args and kwargs can change', async () => {
    const { app, worker } = await setup();
    worker.register('t.count', ([n], _k, ctx) => ((n as number) < 5 ? ctx.retry({ countdown: 0, args: [(n as number) + 1] }) : n), { maxRetries: null });
    await worker.start();
    await expect((await app.sendTask('t.count', [0])).get({ timeout: 2000 })).resolves.toBe(5);
    await worker.stop();
    await app.close();
  });

  test('retry({ queue, priority }) sends the next attempt where it says (Celery: self.retry(queue=…) goes to apply_async)', async () => {
    const { app, worker } = await setup();
    const runs: { queue: string; retries: number }[] = [];
    const handler = (_a: unknown[], _k: unknown, ctx: TaskContext) => {
      runs.push({ queue: ctx.deliveryInfo.queue, retries: ctx.retries });
      return ctx.retries === 0 ? ctx.retry({ countdown: 0, queue: 'slow', priority: 7 }) : 'moved';
    };
    worker.register('t.hop', handler);
    const slow = new Worker(app, { logger: silentLogger, queues: ['slow'] });
    slow.register('t.hop', handler);
    await worker.start();
    await slow.start();
    const sends: Parameters<Celery['sendTask']>[] = [];
    const sendTask = app.sendTask.bind(app);
    app.sendTask = (...call: Parameters<Celery['sendTask']>) => (sends.push(call), sendTask(...call));
    await expect((await app.sendTask('t.hop', [])).get({ timeout: 5000 })).resolves.toBe('moved');
    expect(runs).toEqual([
      { queue: 'celery', retries: 0 },
      { queue: 'slow', retries: 1 },
    ]);
    expect(sends[1][3]).toMatchObject({ queue: 'slow', priority: 7, retries: 1 });
    expect(sends[1][3]).not.toHaveProperty('exchange');
    await slow.stop();
    await worker.stop();
    await app.close();
  });
});

describe('autoretryFor (memory transport)', () => {
  test('matching errors retry (classes and predicates), others fail at once', async () => {
    const { app, worker } = await setup();
    const calls = new Map<string, number>();
    const count = (id: string) => calls.set(id, (calls.get(id) ?? 0) + 1).get(id)!;
    const options = { autoretryFor: [ConnectionError, (e: unknown) => (e as Error)?.message === 'retry me'], defaultRetryDelay: 0 };
    worker.register('t.class', (_a, _k, ctx) => (count(ctx.id) < 3 ? Promise.reject(new ConnectionError('down')) : 'up'), options);
    worker.register(
      't.predicate',
      (_a, _k, ctx) => {
        if (count(ctx.id) < 2) throw new Error('retry me');
        return 'done';
      },
      options,
    );
    worker.register(
      't.other',
      (_a, _k, ctx) => {
        count(ctx.id);
        throw new ValueError('not retried');
      },
      options,
    );
    await worker.start();
    const [a, b, c] = await Promise.all([app.sendTask('t.class'), app.sendTask('t.predicate'), app.sendTask('t.other')]);
    await expect(a.get({ timeout: 2000 })).resolves.toBe('up');
    await expect(b.get({ timeout: 2000 })).resolves.toBe('done');
    await expect(c.get({ timeout: 2000 })).rejects.toMatchObject({ excType: 'ValueError' });
    expect([calls.get(a.id), calls.get(b.id), calls.get(c.id)]).toEqual([3, 2, 1]);
    await worker.stop();
    await app.close();
  });

  test('retryBackoff sets the countdown from the retry count (no jitter: factor × 2^retries)', async () => {
    const { app, worker } = await setup();
    const etas: number[] = [];
    worker.register(
      't.backoff',
      (_a, _k, ctx) => {
        etas.push(ctx.request.eta?.getTime() ?? Date.now());
        if (ctx.retries < 2) throw new ConnectionError('down');
        return 'ok';
      },
      { autoretryFor: [ConnectionError], retryBackoff: 0.05, retryJitter: false },
    );
    await worker.start();
    await expect((await app.sendTask('t.backoff')).get({ timeout: 2000 })).resolves.toBe('ok');
    const gaps = [etas[1] - etas[0], etas[2] - etas[1]];
    expect(gaps[0]).toBeGreaterThanOrEqual(45); // 0.05 × 2^0 s
    expect(gaps[1]).toBeGreaterThanOrEqual(95); // 0.05 × 2^1 s
    await worker.stop();
    await app.close();
  });
});
