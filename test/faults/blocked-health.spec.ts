/**
 * Fault: a real RabbitMQ memory alarm (a private node) blocks publishing. CeleryHealthIndicator
 * reports the broker 'blocked' with RabbitMQ's reason while connection.blocked lasts and 'up' after
 * connection.unblocked, and every publish made meanwhile is delivered once the alarm clears.
 */
import { expect } from '@jest/globals';
import { Test, type TestingModule } from '@nestjs/testing';
import { CeleryClient, CeleryHealthIndicator, CeleryModule, type CeleryHealthResult } from 'nestjs-celery';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import type { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { describeWithPrivateBrokers, startPrivateRabbitMq, type PrivateRabbitMq } from '../support/private-broker.js';
import { uniqueName } from '../support/services.js';
import { messageCount, until } from './support.js';

const describeFaults = describeWithPrivateBrokers('fault: health while RabbitMQ blocks publishing', 'rabbitmq');

type Details = { broker: string; backend: string; blocked?: string };

describeFaults('fault: health reports connection.blocked', () => {
  let rabbit: PrivateRabbitMq;
  let moduleRef: TestingModule | undefined;

  beforeAll(async () => {
    rabbit = await startPrivateRabbitMq({ port: 5730 });
  }, 180_000);
  afterAll(async () => {
    await moduleRef?.close().catch(() => undefined);
    await rabbit?.stop();
  }, 120_000);

  test("'blocked' with RabbitMQ's reason during a memory alarm, 'up' after it; nothing published meanwhile is lost", async () => {
    const queue = uniqueName('faults.blocked-health');
    moduleRef = await Test.createTestingModule({
      imports: [CeleryModule.forRoot({ logger: silentLogger, broker: rabbit.url, backend: null, taskDefaultQueue: queue, publishTimeoutMs: 120_000 })],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    const health = moduleRef.get(CeleryHealthIndicator);
    const app = moduleRef.get(CeleryClient).unwrap<Celery>();
    const check = async () => (await health.isHealthy('celery')).celery as CeleryHealthResult['celery'] & { default: Details };

    await app.sendTask('blocked.t', [0]);
    expect(await check()).toMatchObject({ status: 'up', default: { broker: 'connected', backend: 'none' } });

    await rabbit.ctl('set_vm_memory_high_watermark', 'absolute', '1');
    const sent: Promise<unknown>[] = [];
    try {
      // RabbitMQ sends connection.blocked once the connection publishes during the alarm
      sent.push(app.sendTask('blocked.t', [1]));
      await until(async () => (await check()).default.broker === 'blocked', "health to say 'blocked'");
      const blocked = await check();
      expect(blocked).toMatchObject({ status: 'down', default: { broker: 'blocked', backend: 'none' } });
      expect(blocked.default.blocked).toMatch(/memory/i);
      sent.push(...[2, 3, 4].map((i) => app.sendTask('blocked.t', [i])));
      for (const p of sent) p.catch(() => undefined);
    } finally {
      await rabbit.ctl('set_vm_memory_high_watermark', '0.4');
    }
    await until(async () => (await check()).status === 'up', "health to say 'up' again");
    expect(await check()).toMatchObject({ status: 'up', default: { broker: 'connected', backend: 'none' } });
    await expect(Promise.all(sent)).resolves.toHaveLength(4);
    await until(async () => (await messageCount(rabbit.url, queue)) >= 5, '5 messages queued', 30_000);
    expect(await messageCount(rabbit.url, queue)).toBe(5);
  }, 180_000);
});
