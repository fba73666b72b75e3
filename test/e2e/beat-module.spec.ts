/**
 * CeleryModule's `beat` option on Redis: the module's beat sends a periodic task that the same
 * app's `@CeleryTask` handler runs (Celery's `worker -B`), and releases its lead at shutdown; entries
 * declared with `@CelerySchedule` on the task method run the same way, and a name declared both there
 * and in `forRoot({ beat })` stops startup.
 */
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { Ctx } from '@nestjs/microservices';
import { CeleryContext, CeleryModule, CelerySchedule, CeleryTask } from 'nestjs-celery';
import { deleteQueues } from '../support/cleanup.js';
import { eventually } from '../support/eventually.js';
import { REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

const runs: string[] = [];

@Injectable()
class Ticks {
  @CeleryTask('nest.beat.tick')
  tick(@Ctx() ctx: CeleryContext) {
    runs.push(ctx.getTaskContext().id);
  }
}

const decorated: unknown[][] = [];

@Injectable()
class Reports {
  @CeleryTask('nest.beat.report')
  @CelerySchedule('report-every-second', { every: 1 }, { args: ['pdf', 3] })
  report(format: string, pages: number) {
    decorated.push([format, pages]);
  }
}

const describeRedis = await describeIfAvailable('CeleryModule beat option', 'redis');

describeRedis('CeleryModule({ beat }) with a worker, on Redis', () => {
  const queue = uniqueName('beat.nest');
  const key = uniqueName('beat.nest');
  let moduleRef: TestingModule | undefined;
  const redis = new Redis(REDIS_URL);

  afterAll(async () => {
    await moduleRef?.close();
    await deleteQueues(REDIS_URL, [queue]);
    await redis.del(`${key}:lock`, `${key}:fence`, `${key}:state`);
    redis.disconnect();
  }, 60_000);

  test('the module beat sends every second, the module worker runs it, shutdown releases the lead', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        CeleryModule.forRoot({
          broker: REDIS_URL,
          worker: { queues: [queue], concurrency: 2 },
          beat: { key, lockTimeoutMs: 1500, schedule: { tick: { task: 'nest.beat.tick', schedule: { every: 1 }, options: { queue } } } },
        }),
      ],
      providers: [Ticks],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    await eventually(() => runs.length >= 2, 'two runs', 60_000);
    expect(new Set(runs).size).toBe(runs.length);
    expect(await redis.exists(`${key}:lock`)).toBe(1);
    await moduleRef.close();
    moduleRef = undefined;
    expect(await redis.exists(`${key}:lock`)).toBe(0);
  }, 120_000);

  test('@CelerySchedule entries are discovered on the task method and sent with their arguments', async () => {
    const reportQueue = uniqueName('beat.nest.decorated');
    const reportKey = uniqueName('beat.nest.decorated');
    const ref = await Test.createTestingModule({
      imports: [
        CeleryModule.forRoot({
          broker: REDIS_URL,
          taskDefaultQueue: reportQueue,
          worker: { concurrency: 2 },
          beat: { key: reportKey, lockTimeoutMs: 1500 },
        }),
      ],
      providers: [Reports],
    }).compile();
    ref.useLogger(false);
    try {
      await ref.init();
      await eventually(() => decorated.length >= 2, 'two runs of the decorated entry', 60_000);
      expect(decorated.slice(0, 2)).toEqual([
        ['pdf', 3],
        ['pdf', 3],
      ]);
    } finally {
      await ref.close();
      await deleteQueues(REDIS_URL, [reportQueue]);
      await redis.del(`${reportKey}:lock`, `${reportKey}:fence`, `${reportKey}:state`);
    }
  }, 120_000);

  test('a schedule name declared by @CelerySchedule and by forRoot({ beat }) stops startup', async () => {
    const dupKey = uniqueName('beat.nest.dup');
    const ref = await Test.createTestingModule({
      imports: [
        CeleryModule.forRoot({
          broker: REDIS_URL,
          worker: { queues: [uniqueName('beat.nest.dup')], concurrency: 1 },
          beat: { key: dupKey, schedule: { 'report-every-second': { task: 'nest.beat.report', schedule: { every: 60 } } } },
        }),
      ],
      providers: [Reports],
    }).compile();
    ref.useLogger(false);
    try {
      await expect(ref.init()).rejects.toThrow(/report-every-second/);
    } finally {
      await ref.close().catch(() => undefined);
      await redis.del(`${dupKey}:lock`, `${dupKey}:fence`, `${dupKey}:state`);
    }
  }, 60_000);
});
