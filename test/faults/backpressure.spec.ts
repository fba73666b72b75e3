/**
 * Fault: RabbitMQ blocks publishing (a real memory alarm on a private node sends
 * connection.blocked). Publishes are held, not lost or failed, and delivered once after the
 * alarm clears; maxPendingPublishes refuses extra ones at once; a publish that timed out while
 * held is never delivered afterwards. On Redis (a private instance killed): a publish that timed
 * out while it was down is never sent once it is back.
 */
import { Redis } from 'ioredis';
import { filter, firstValueFrom } from 'rxjs';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { PublishBackpressureError, PublishTimeoutError } from '../../libs/nestjs-celery/src/engine/errors.js';
import { describeWithPrivateBrokers, startPrivateRabbitMq, startPrivateRedis, type PrivateRabbitMq, type PrivateRedis } from '../support/private-broker.js';
import { uniqueName } from '../support/services.js';
import { messageCount, until } from './support.js';

const describeFaults = describeWithPrivateBrokers('fault: RabbitMQ blocking publishers', 'rabbitmq');

describeFaults('fault: RabbitMQ memory alarm (connection.blocked)', () => {
  const apps: Celery[] = [];
  let rabbit: PrivateRabbitMq;
  const alarm = () => rabbit.ctl('set_vm_memory_high_watermark', 'absolute', '1');
  const clear = () => rabbit.ctl('set_vm_memory_high_watermark', '0.4');

  beforeAll(async () => {
    rabbit = await startPrivateRabbitMq({ port: 5720 });
  }, 180_000);
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await rabbit?.stop();
  }, 120_000);

  test('held while blocked, refused over maxPendingPublishes, delivered exactly once after the alarm clears', async () => {
    const queue = uniqueName('faults.blocked');
    const app = new Celery({
      broker: rabbit.url,
      backend: null,
      taskDefaultQueue: queue,
      maxPendingPublishes: 5,
      publishTimeoutMs: 120_000,
      logger: silentLogger,
    });
    apps.push(app);
    await app.sendTask('blocked.t', [0]);

    await alarm();
    const held: Promise<unknown>[] = [];
    let settled = 0;
    try {
      // RabbitMQ sends connection.blocked once the connection publishes during the alarm: this
      // first one is written (RabbitMQ holds it), the next ones are held by us
      held.push(app.sendTask('blocked.t', [100]).finally(() => settled++));
      await until(() => app.broker.blocked !== undefined, 'connection.blocked');
      held.push(...Array.from({ length: 4 }, (_, i) => app.sendTask('blocked.t', [101 + i]).finally(() => settled++)));
      for (const p of held) p.catch(() => undefined);
      const started = Date.now();
      await expect(app.sendTask('blocked.t', [999])).rejects.toBeInstanceOf(PublishBackpressureError);
      // at once, not after the publish timeout (generous for a loaded machine)
      expect(Date.now() - started).toBeLessThan(5000);
      // held: neither failed nor written while the alarm lasts
      await new Promise((r) => setTimeout(r, 2000));
      expect(settled).toBe(0);
      expect(await messageCount(rabbit.url, queue)).toBe(1);
    } finally {
      await clear();
    }
    await expect(Promise.all(held)).resolves.toHaveLength(5);
    expect(app.broker.blocked).toBeUndefined();
    await until(async () => (await messageCount(rabbit.url, queue)) >= 6, '6 messages queued', 30_000);
    expect(await messageCount(rabbit.url, queue)).toBe(6);
  }, 180_000);

  test('a publish that timed out while held is never delivered later', async () => {
    const queue = uniqueName('faults.blocked.timeout');
    const app = new Celery({ broker: rabbit.url, backend: null, taskDefaultQueue: queue, publishTimeoutMs: 1500, logger: silentLogger });
    apps.push(app);
    await app.sendTask('blocked.t', [0]);

    await alarm();
    try {
      const written = app.sendTask('blocked.t', [1]).then(
        () => undefined,
        (err: unknown) => err,
      );
      await until(() => app.broker.blocked !== undefined, 'connection.blocked');
      // written before the block arrived: RabbitMQ may still queue it, and the error says so
      const writtenError = await written;
      expect(writtenError).toBeInstanceOf(PublishTimeoutError);
      expect((writtenError as PublishTimeoutError).mayHaveBeenSent).toBe(true);
      const error = await app.sendTask('blocked.t', [1]).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(PublishTimeoutError);
      expect((error as PublishTimeoutError).mayHaveBeenSent).toBe(false);
      expect((error as Error).message).toMatch(/will not be sent/);
    } finally {
      await clear();
    }
    await until(() => app.broker.blocked === undefined, 'unblocked');
    // a publish after the alarm is confirmed; by then the timed-out one would have been written before it
    await app.sendTask('blocked.t', [2]);
    // the first, the written one (RabbitMQ confirms it late), the one after: not the held one
    await until(async () => (await messageCount(rabbit.url, queue)) >= 3, '3 messages queued', 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await messageCount(rabbit.url, queue)).toBe(3);
  }, 180_000);
});

const describeRedisFaults = describeWithPrivateBrokers('fault: publishing to a Redis that is down', 'redis');

describeRedisFaults('fault: a publish that timed out while Redis was down', () => {
  const apps: Celery[] = [];
  let redis: PrivateRedis;

  beforeAll(async () => {
    redis = await startPrivateRedis({ port: 6410 });
  }, 180_000);
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await redis?.stop();
  }, 120_000);

  test('is never sent after Redis comes back (ioredis would replay its offline queue), declared queue or new', async () => {
    const queue = uniqueName('faults.redis-timeout');
    const fresh = uniqueName('faults.redis-fresh');
    const app = new Celery({ broker: redis.url(), backend: null, taskDefaultQueue: queue, publishTimeoutMs: 1500, logger: silentLogger });
    apps.push(app);
    await app.sendTask('down.t', [0], {}, { taskId: 'before-the-outage' });
    await redis.shutdown(); // SHUTDOWN SAVE: what was queued comes back with it
    try {
      await firstValueFrom(app.broker.status$.pipe(filter((s) => s !== 'connected')));
      for (const target of [queue, fresh]) {
        const started = Date.now();
        const error = await app.sendTask('down.t', [1], {}, { queue: target, taskId: `timed-out-${target}` }).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error).toBeInstanceOf(PublishTimeoutError);
        expect((error as PublishTimeoutError).mayHaveBeenSent).toBe(false);
        // the publish timeout, not ioredis' reconnect attempts (over a minute); generous for a loaded machine
        expect(Date.now() - started).toBeLessThan(20_000);
      }
    } finally {
      await redis.start();
    }
    await firstValueFrom(app.broker.status$.pipe(filter((s) => s === 'connected')));
    // published after the reconnect: a replayed timed-out publish would be in the lists before it
    await app.sendTask('down.t', [2], {}, { taskId: 'after-the-outage' });
    await app.sendTask('down.t', [2], {}, { queue: fresh, taskId: 'after-the-outage-fresh' });
    const client = new Redis(redis.url(), { lazyConnect: true });
    const ids = async (key: string) => (await client.lrange(key, 0, -1)).map((raw) => (JSON.parse(raw) as { headers: { id: string } }).headers.id);
    try {
      expect(await ids(queue)).toEqual(['after-the-outage', 'before-the-outage']);
      expect(await ids(fresh)).toEqual(['after-the-outage-fresh']);
    } finally {
      client.disconnect();
    }
  }, 180_000);
});
