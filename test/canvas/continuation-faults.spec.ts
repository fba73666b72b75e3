/**
 * Continuations are reliable (issue 12, item 5), Redis broker and backend: a failed publish of
 * the next chain step or a failed chord counter update is retried with backoff; when it keeps
 * failing, the continuation (next steps / chord body) is stored FAILURE with the cause and the
 * task that succeeded keeps its SUCCESS. Faults are injected by the test.
 */
import { expect } from '@jest/globals';
import { Redis } from 'ioredis';
import type { CeleryLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { chain, chord, s } from '../../libs/nestjs-celery/src/engine/canvas/index.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import type { AsyncResult } from '../../libs/nestjs-celery/src/engine/async-result.js';
import { deleteRedisQueues } from '../support/cleanup.js';
import { REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

const describeRedis = await describeIfAvailable('continuation faults', 'redis');

describeRedis('continuations under faults', () => {
  const queue = uniqueName('cont');
  const lines: string[] = [];
  const logger: CeleryLogger = { log() {}, debug() {}, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  let app: Celery;
  let worker: Worker;
  let redis: Redis;
  /** publishes of task c.b to fail (broker unreachable) */
  let failB = 0;
  /** chord counter updates to fail */
  let failCounter = 0;
  const brokenBy: string[] = [];

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    app = new Celery({ broker: REDIS_URL, backend: REDIS_URL, taskDefaultQueue: queue, logger });
    await app.connect();
    const publish = app.broker.publish.bind(app.broker);
    app.broker.publish = async (message, route) => {
      if (message.headers?.task === 'c.b' && failB > 0) {
        failB--;
        throw new Error('connection lost (injected by the test)');
      }
      return publish(message, route);
    };
    const chordSupport = app.backend!.chord!;
    const onPartReturn = chordSupport.onPartReturn.bind(chordSupport);
    chordSupport.onPartReturn = async (...args) => {
      if (failCounter > 0) {
        failCounter--;
        throw new Error('READONLY counter unavailable (injected by the test)');
      }
      return onPartReturn(...args);
    };
    worker = new Worker(app, { logger, concurrency: 4, continuationAttempts: 3 });
    worker.register('c.a', (args) => (args[0] as number) + 1);
    worker.register('c.b', (args) => (args[0] as number) * 10);
    worker.register('c.c', (args) => (args[0] as number) + 5);
    // a header task that breaks its own chord's counter key (a Redis key of the wrong type)
    worker.register('c.break', async (args, _k, ctx) => {
      brokenBy.push(ctx.id);
      await redis.hset(`celery-taskset-meta-${ctx.request.groupId}.j`, 'x', 'wrong type');
      return args[0];
    });
    worker.register('c.sum', (args) => (args[0] as number[]).reduce((x, y) => x + y, 0));
    await worker.start();
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await deleteRedisQueues([queue]);
    redis?.disconnect();
  }, 60_000);

  const stored = async (id: string) =>
    JSON.parse((await redis.get(`celery-task-meta-${id}`)) ?? 'null') as { status: string; result: { exc_message: string[] } };

  test('a next chain step whose publish fails twice is retried and the chain completes', async () => {
    failB = 2;
    const result = await chain(s('c.a', 1), s('c.b'), s('c.c')).applyAsync(app);
    await expect(result.get({ timeout: 30_000 })).resolves.toBe(25);
  }, 60_000);

  test('a next chain step that cannot be published: the steps after are FAILURE with the cause, the first step keeps SUCCESS', async () => {
    failB = 3; // continuationAttempts
    const result = await chain(s('c.a', 1), s('c.b'), s('c.c')).applyAsync(app);
    await expect(result.get({ timeout: 30_000 })).rejects.toMatchObject({ message: expect.stringContaining('connection lost') });
    const first = result.parent!.parent!;
    // its SUCCESS is stored right after the continuation gave up
    await expect((first as AsyncResult).get({ timeout: 30_000 })).resolves.toBe(2);
    const step = await stored(result.parent!.id);
    expect(step.status).toBe('FAILURE');
    expect(step.result.exc_message).toEqual([expect.stringContaining('connection lost')]);
  }, 60_000);

  test('a chord counter update that fails twice is retried and the body fires', async () => {
    failCounter = 2;
    const result = await chord([s('c.a', 1), s('c.a', 2)], s('c.sum')).applyAsync(app);
    await expect(result.get({ timeout: 30_000 })).resolves.toBe(5);
  }, 60_000);

  test('a chord counter of the wrong type: the body is FAILURE ChordError("Join error: …"), the header task keeps SUCCESS', async () => {
    const result = await chord([s('c.break', 1)], s('c.sum')).applyAsync(app);
    await expect(result.get({ timeout: 30_000 })).rejects.toMatchObject({ excType: 'ChordError', message: expect.stringContaining('Join error') });
    expect((await stored(result.id)).result.exc_message[0]).toContain('WRONGTYPE');
    expect((await stored(brokenBy[0])).status).toBe('SUCCESS');
  }, 60_000);
});
