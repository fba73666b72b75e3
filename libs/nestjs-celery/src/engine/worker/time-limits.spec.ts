import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../common/logger.js';
import { SoftTimeLimitExceeded, TimeLimitExceeded } from '../../protocol/python-errors.js';
import { MemoryBackend } from '../../transport/memory/memory.backend.js';
import { MemoryBroker } from '../../transport/memory/memory.broker.js';
import { Celery } from '../celery.js';
import { effectiveTimeLimits, runWithTimeLimits } from './time-limits.js';
import { Worker } from './worker.js';
import { TaskAbort } from './task-abort.js';

describe('effectiveTimeLimits', () => {
  test('the timelimit header ([hard, soft]) wins; 0 and null fall through to task, then worker defaults', () => {
    expect(effectiveTimeLimits([5, 2], { timeLimit: 9, softTimeLimit: 8 })).toEqual({ hard: 5, soft: 2 });
    expect(effectiveTimeLimits([null, 0], { softTimeLimit: 8 }, { timeLimit: 30, softTimeLimit: 20 })).toEqual({ hard: 30, soft: 8 });
    expect(effectiveTimeLimits([null, null])).toEqual({ hard: null, soft: null });
  });
});

describe('runWithTimeLimits', () => {
  test('soft: the signal aborts with SoftTimeLimitExceeded; a handler that listens fails with it', async () => {
    const controller = new TaskAbort();
    const listening = () => new Promise((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason)));
    const outcome = await runWithTimeLimits(listening, { hard: null, soft: 0.05 }, controller);
    expect(outcome.kind).toBe('raised');
    expect((outcome as { error: unknown }).error).toBeInstanceOf(SoftTimeLimitExceeded);
  });

  test('hard: resolves at the limit while the run goes on; its late end is reported separately', async () => {
    const controller = new TaskAbort();
    const started = Date.now();
    const outcome = await runWithTimeLimits(() => sleep(1500, 'late value', { ref: false }), { hard: 0.05, soft: null }, controller);
    expect(Date.now() - started).toBeLessThan(1000); // at the limit, not at the run's end (margin for a loaded machine)
    expect(outcome).toMatchObject({ kind: 'timeout', seconds: 0.05 });
    expect(controller.signal.reason).toBeInstanceOf(TimeLimitExceeded);
    await expect((outcome as { late: Promise<unknown> }).late).resolves.toBe('late value');
  });

  test('no limit: just the run', async () => {
    await expect(runWithTimeLimits(async () => 42, { hard: null, soft: null }, new TaskAbort())).resolves.toEqual({ kind: 'returned', value: 42 });
  });
});

describe('time limits in the worker (memory transport)', () => {
  test('hard limit: FAILURE TimeLimitExceeded([seconds]), no traceback, and the slot is free for the next task', async () => {
    const name = `time-limits-${process.pid}`;
    const app = new Celery({ broker: new MemoryBroker(`memory://${name}`), backend: new MemoryBackend(`memory://${name}`), logger: silentLogger });
    const worker = new Worker(app, { logger: silentLogger, concurrency: 1 });
    worker.register('t.stuck', () => sleep(1000, 'never seen', { ref: false }), { timeLimit: 0.1 });
    worker.register('t.quick', () => 'quick');
    await worker.start();
    const stuck = await app.sendTask('t.stuck');
    const quick = await app.sendTask('t.quick');
    await expect(quick.get({ timeout: 600 })).resolves.toBe('quick');
    const meta = await stuck.meta();
    expect(meta).toMatchObject({
      status: 'FAILURE',
      traceback: null,
      result: { exc_type: 'TimeLimitExceeded', exc_module: 'billiard.exceptions', exc_message: [0.1] },
    });
    await worker.stop();
    await app.close();
  });
});
