import { firstValueFrom, toArray } from 'rxjs';
import { silentLogger, type CeleryLogger } from '../../common/logger.js';
import { CeleryTaskError } from '../../protocol/exceptions.js';
import type { ResultMeta } from '../../protocol/result-meta.js';
import { MemoryBackend } from '../../transport/memory/memory.backend.js';
import { MemoryBroker } from '../../transport/memory/memory.broker.js';
import { Celery } from '../celery.js';
import { Worker } from './worker.js';

let seq = 0;
function setup(workerOptions: ConstructorParameters<typeof Worker>[1] = {}) {
  const name = `worker-spec-${process.pid}-${++seq}`;
  const lines: string[] = [];
  const logger: CeleryLogger = { ...silentLogger, error: (m) => lines.push(m), warn: (m) => lines.push(m) };
  const app = new Celery({ broker: new MemoryBroker(`memory://${name}`), backend: new MemoryBackend(`memory://${name}`), logger });
  const worker = new Worker(app, { logger, ...workerOptions });
  return { app, worker, lines, broker: app.broker as MemoryBroker };
}

/** Publish a raw (possibly broken) message to the default queue. */
async function publishRaw(app: Celery, body: string | Buffer, headers: Record<string, unknown>, contentType = 'application/json') {
  await app.connect();
  await app.declareQueue('celery');
  await app.broker.publish(
    {
      body: Buffer.isBuffer(body) ? body : Buffer.from(body),
      contentType,
      contentEncoding: 'utf-8',
      headers,
      properties: { correlationId: (headers.id as string | undefined) ?? '', replyTo: app.oid, deliveryMode: 2 },
    },
    { exchange: '', routingKey: 'celery' },
  );
}

describe('Worker (memory transport)', () => {
  test('runs a task and stores its result; the client gets it', async () => {
    const { app, worker } = setup();
    worker.register('tasks.add', ([x, y]) => (x as number) + (y as number));
    await worker.start();
    const result = await app.sendTask<number>('tasks.add', [2, 3]);
    await expect(result.get({ timeout: 2000 })).resolves.toBe(5);
    const meta = await result.meta();
    expect(meta).toMatchObject({ status: 'SUCCESS', result: 5, traceback: null, children: [], task_id: result.id });
    expect(meta!.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/);
    await worker.stop();
    await app.close();
  });

  test('kwargs, async handlers and Observables', async () => {
    const { app, worker } = setup();
    worker.register('tasks.echo', async (args, kwargs) => ({ args, kwargs }));
    const { of } = await import('rxjs');
    worker.register('tasks.obs', () => of(1, 2, 3));
    await worker.start();
    const r1 = await app.sendTask('tasks.echo', [1, 'ü', null], { k: [1, { n: true }] });
    await expect(r1.get({ timeout: 2000 })).resolves.toEqual({ args: [1, 'ü', null], kwargs: { k: [1, { n: true }] } });
    const r2 = await app.sendTask('tasks.obs');
    await expect(r2.get({ timeout: 2000 })).resolves.toBe(3);
    await worker.stop();
    await app.close();
  });

  test('a thrown error becomes FAILURE with exc fields and a traceback', async () => {
    const { app, worker } = setup();
    worker.register('tasks.fail', () => {
      throw new TypeError('bad input');
    });
    await worker.start();
    const result = await app.sendTask('tasks.fail');
    const error = (await result.get({ timeout: 2000 }).catch((e: unknown) => e)) as CeleryTaskError;
    expect(error).toBeInstanceOf(CeleryTaskError);
    expect(error.excType).toBe('TypeError');
    expect(error.excMessage).toEqual(['bad input']);
    expect(error.traceback).toContain('bad input');
    await worker.stop();
    await app.close();
  });

  test('unknown task: FAILURE NotRegistered, rejected, the loop goes on', async () => {
    const { app, worker, broker, lines } = setup();
    worker.register('tasks.ok', () => 'ok');
    await worker.start();
    const bad = await app.sendTask('tasks.nope');
    const error = await bad.get({ timeout: 2000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ excType: 'NotRegistered', excModule: 'celery.exceptions', excMessage: ['tasks.nope'] });
    expect(lines.some((l) => l.includes('unregistered task "tasks.nope"'))).toBe(true);
    await expect((await app.sendTask('tasks.ok')).get({ timeout: 2000 })).resolves.toBe('ok');
    expect(broker.vhost.depth('celery')).toBe(0);
    await worker.stop();
    await app.close();
  });

  const v2Headers = (id: string) => ({ lang: 'py', task: 'tasks.ok', id, root_id: id, retries: 0, timelimit: [null, null] });
  const refusals: [string, string | Buffer, (id: string) => Record<string, unknown>, string, string][] = [
    ['invalid JSON', '[[1], {}, {', v2Headers, 'application/json', 'DecodeError'],
    ['a body that is not a 3-element array', '[[1], {}]', v2Headers, 'application/json', 'InvalidTaskError'],
    ['args that are not a list', '[{"a": 1}, {}, null]', v2Headers, 'application/json', 'InvalidTaskError'],
    ['kwargs that are not an object', '[[], [1], null]', v2Headers, 'application/json', 'InvalidTaskError'],
    ['an unknown content type', 'x', v2Headers, 'application/x-unknown', 'ContentDisallowed'],
    ['a pickle body', Buffer.from([0x80, 0x04, 0x95]), v2Headers, 'application/x-python-serialize', 'ContentDisallowed'],
  ];
  test.each(refusals)('%s: one log line, FAILURE stored, next message processed', async (_what, body, headers, contentType, excType) => {
    const { app, worker, lines, broker } = setup();
    worker.register('tasks.ok', () => 'ok');
    await worker.start();
    const id = `bad-${Math.random()}`;
    const watched = firstValueFrom(app.asyncResult(id).state$);
    await publishRaw(app, body, headers(id), contentType);
    const meta: ResultMeta = await watched;
    expect(meta.status).toBe('FAILURE');
    expect((meta.result as { exc_type: string }).exc_type).toBe(excType);
    expect(lines.filter((l) => l.includes(id))).toHaveLength(1);
    await expect((await app.sendTask('tasks.ok')).get({ timeout: 2000 })).resolves.toBe('ok');
    expect(broker.vhost.depth('celery')).toBe(0);
    await worker.stop();
    await app.close();
  });

  test('a message without an id header is dropped with a log line, nothing stored, loop goes on', async () => {
    const { app, worker, lines } = setup();
    worker.register('tasks.ok', () => 'ok');
    await worker.start();
    await publishRaw(app, '[[], {}, null]', { lang: 'py', task: 'tasks.ok' });
    await expect((await app.sendTask('tasks.ok')).get({ timeout: 2000 })).resolves.toBe('ok');
    expect(lines.filter((l) => l.includes('rejected message'))).toHaveLength(1);
    await worker.stop();
    await app.close();
  });

  test('an oversized message is refused with FAILURE', async () => {
    const { app, worker } = setup({ maxMessageBytes: 100 });
    worker.register('tasks.ok', () => 'ok');
    await worker.start();
    const error = await (await app.sendTask('tasks.ok', ['x'.repeat(200)])).get({ timeout: 2000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ excType: 'MessageTooLarge' });
    await worker.stop();
    await app.close();
  });

  test('concurrency bounds the tasks running at once (prefetch = concurrency)', async () => {
    const { app, worker, broker } = setup({ concurrency: 2 });
    let running = 0;
    let peak = 0;
    worker.register('tasks.slow', async () => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return true;
    });
    await worker.start();
    const results = await Promise.all(Array.from({ length: 6 }, () => app.sendTask('tasks.slow')));
    await new Promise((r) => setTimeout(r, 5));
    expect(broker.vhost.depth('celery')).toBeGreaterThanOrEqual(3);
    await Promise.all(results.map((r) => r.get({ timeout: 2000 })));
    expect(peak).toBe(2);
    await worker.stop();
    await app.close();
  });

  test('the message is acked only after the outcome is stored; an unreachable backend requeues', async () => {
    const { app, worker, broker } = setup({ storeAttempts: 2 });
    const backend = app.backend as MemoryBackend;
    const realStore = backend.store.bind(backend);
    let failures = 2;
    backend.store = async (meta: ResultMeta) => {
      if (meta.status === 'SUCCESS' && failures-- > 0) throw new Error('backend down');
      return realStore(meta);
    };
    let runs = 0;
    worker.register('tasks.count', () => ++runs);
    await worker.start();
    const result = await app.sendTask('tasks.count');
    // 2 failed stores exhaust the attempts → requeued → second run stores fine
    await expect(result.get({ timeout: 3000 })).resolves.toBe(2);
    expect(runs).toBe(2);
    expect(broker.vhost.depth('celery')).toBe(0);
    await worker.stop();
    await app.close();
  });

  test('an expired task is stored REVOKED and not run', async () => {
    const { app, worker } = setup();
    let ran = false;
    worker.register('tasks.ok', () => (ran = true));
    const result = await app.sendTask('tasks.ok', [], {}, { expires: new Date(Date.now() - 1000) });
    await worker.start();
    const error = await result.get({ timeout: 2000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ excType: 'TaskRevokedError', excMessage: ['expired'], state: 'REVOKED' });
    expect(ran).toBe(false);
    await worker.stop();
    await app.close();
  });

  test('a countdown task runs when due', async () => {
    const { app, worker } = setup();
    worker.register('tasks.now', () => Date.now());
    await worker.start();
    const sent = Date.now();
    const ranAt = await (await app.sendTask<number>('tasks.now', [], {}, { countdown: 0.3 })).get({ timeout: 3000 });
    expect(ranAt - sent).toBeGreaterThanOrEqual(280);
    await worker.stop();
    await app.close();
  });

  test('updateState publishes intermediate states before the result', async () => {
    const { app, worker } = setup({ trackStarted: true });
    worker.register('tasks.progress', async (_a, _k, ctx) => {
      await ctx.updateState('PROGRESS', { done: 1, total: 2 });
      return 'done';
    });
    const result = await app.sendTask('tasks.progress');
    const states = firstValueFrom(result.state$.pipe(toArray()));
    await worker.start();
    expect((await states).map((m) => [m.status, m.result])).toEqual([
      ['STARTED', { pid: process.pid, hostname: worker.hostname }],
      ['PROGRESS', { done: 1, total: 2 }],
      ['SUCCESS', 'done'],
    ]);
    await worker.stop();
    await app.close();
  });

  test('stop() gives held messages back: a second worker gets them', async () => {
    const { app, worker, broker } = setup({ concurrency: 1 });
    worker.register('tasks.ok', () => 'ok');
    const result = await app.sendTask('tasks.ok', [], {}, { countdown: 60 });
    await worker.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(broker.vhost.depth('celery')).toBe(0);
    await worker.stop();
    expect(broker.vhost.depth('celery')).toBe(1);
    expect(await result.state()).toBe('PENDING');
    await app.close();
  });
});

describe('Worker graceful shutdown (memory transport)', () => {
  test('stop() waits for running tasks: their outcome is stored and acked', async () => {
    const { app, worker, broker } = setup();
    worker.register('tasks.slow', async () => {
      await new Promise((r) => setTimeout(r, 150));
      return 'finished';
    });
    await worker.start();
    const result = await app.sendTask('tasks.slow');
    await new Promise((r) => setTimeout(r, 20));
    await worker.stop(5000);
    expect(await result.state()).toBe('SUCCESS');
    await app.close();
    expect(broker.vhost.depth('celery')).toBe(0);
  });

  test('past the grace period running tasks are aborted and their messages go back to the queue, unstored', async () => {
    const { app, worker, broker, lines } = setup();
    let sawAbort = false;
    worker.register(
      'tasks.stuck',
      (_a, _k, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(ctx.signal.reason);
          });
        }),
    );
    await worker.start();
    const result = await app.sendTask('tasks.stuck');
    await new Promise((r) => setTimeout(r, 20));
    await worker.stop(50);
    await new Promise((r) => setTimeout(r, 10));
    expect(sawAbort).toBe(true);
    expect(await result.state()).toBe('PENDING');
    expect(broker.vhost.depth('celery')).toBe(1);
    expect(lines.some((l) => l.includes('still running after 50 ms'))).toBe(true);
    await app.close();
    expect(broker.vhost.depth('celery')).toBe(1);
  });
});

describe('Worker ignore_result (memory transport)', () => {
  test("a task's ignoreResult stores no outcome at all, unless storeErrorsEvenIfIgnored; the message's only skips SUCCESS", async () => {
    const { app, worker } = setup();
    const boom = () => {
      throw new Error('boom');
    };
    worker.register('t.quiet-fail', boom, { ignoreResult: true });
    worker.register('t.loud-fail', boom, { ignoreResult: true, storeErrorsEvenIfIgnored: true });
    worker.register('t.fail', boom);
    worker.register('t.ok', () => 'ok');
    await worker.start();
    const quiet = await app.sendTask('t.quiet-fail');
    const loud = await app.sendTask('t.loud-fail');
    const requestIgnored = await app.sendTask('t.fail', [], {}, { ignoreResult: true });
    const requestIgnoredOk = await app.sendTask('t.ok', [], {}, { ignoreResult: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(worker.processedCount).toBe(4);
    expect(await quiet.state()).toBe('PENDING');
    expect(await loud.state()).toBe('FAILURE');
    expect(await requestIgnored.state()).toBe('FAILURE');
    expect(await requestIgnoredOk.state()).toBe('PENDING');
    await worker.stop();
    await app.close();
  });
});
