/**
 * CeleryModule's `beat` option on Redis: the module's beat sends a periodic task that the same
 * app's `@CeleryTask` handler runs (Celery's `worker -B`), and releases its lead at shutdown.
 */
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { Ctx } from '@nestjs/microservices';
import { CeleryContext, CeleryModule, CeleryTask } from 'nestjs-celery';
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
});
