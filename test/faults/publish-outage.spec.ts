/**
 * Fault: publishing while RabbitMQ is down. 'fail' rejects at once with BrokerUnavailableError;
 * 'buffer' holds up to publishBufferLimit publishes (the next ones fail fast) and sends the held
 * ones when the broker is back; the status stream reports the outage and the recovery.
 */
import amqp from 'amqplib';
import { firstValueFrom, filter } from 'rxjs';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { BrokerUnavailableError } from '../../libs/nestjs-celery/src/engine/errors.js';
import { describeWithPrivateBrokers, startPrivateRabbitMq, type PrivateRabbitMq } from '../support/private-broker.js';
import { uniqueName } from '../support/services.js';

const describeFaults = describeWithPrivateBrokers('fault: publishing during a broker outage', 'rabbitmq');

describeFaults('fault: publishing during a RabbitMQ outage', () => {
  const queue = uniqueName('faults.outage');
  const apps: Celery[] = [];
  let rabbit: PrivateRabbitMq;

  beforeAll(async () => {
    rabbit = await startPrivateRabbitMq({ port: 5712 });
  }, 180_000);
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await rabbit?.stop();
  }, 120_000);

  test("'fail' rejects at once; 'buffer' holds a bounded number and delivers them after recovery", async () => {
    const failing = new Celery({ broker: rabbit.url, backend: null, taskDefaultQueue: queue, publishWhileDisconnected: 'fail', logger: silentLogger });
    const buffering = new Celery({
      broker: rabbit.url,
      backend: null,
      taskDefaultQueue: queue,
      publishBufferLimit: 5,
      publishTimeoutMs: 60_000,
      logger: silentLogger,
    });
    apps.push(failing, buffering);
    await failing.sendTask('outage.t', [0]);
    await buffering.sendTask('outage.t', [0]);

    let held: Promise<unknown>[] = [];
    await rabbit.stopApp();
    try {
      await firstValueFrom(buffering.broker.status$.pipe(filter((s) => s !== 'connected')));
      await firstValueFrom(failing.broker.status$.pipe(filter((s) => s !== 'connected')));

      const started = Date.now();
      await expect(failing.sendTask('outage.t', [1])).rejects.toBeInstanceOf(BrokerUnavailableError);
      expect(Date.now() - started).toBeLessThan(5000); // at once, not after the publish timeout

      held = Array.from({ length: 5 }, (_, i) => buffering.sendTask('outage.t', [100 + i]));
      // each is awaited (and asserted) after the outage; until then a rejection must not go unhandled
      for (const p of held) p.catch(() => undefined);
      await expect(buffering.sendTask('outage.t', [999])).rejects.toThrow(/publishBufferLimit/);
    } finally {
      await rabbit.startApp();
    }
    await firstValueFrom(buffering.broker.status$.pipe(filter((s) => s === 'connected')));
    // the held publishes are confirmed once the broker is back
    await expect(Promise.all(held)).resolves.toHaveLength(5);
  }, 120_000);

  test('after recovery the queue holds exactly the confirmed messages', async () => {
    const conn = await amqp.connect(rabbit.url);
    const ch = await conn.createChannel();
    const deadline = Date.now() + 30_000;
    let count = 0;
    while (Date.now() < deadline) {
      count = (await ch.checkQueue(queue)).messageCount;
      if (count >= 7) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await conn.close();
    // 1 + 1 before the outage, 5 held during it; the refused ones never reached the broker
    expect(count).toBe(7);
  }, 60_000);
});
