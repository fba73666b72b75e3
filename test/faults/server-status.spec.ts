/**
 * Fault: a Nest CeleryServer through a RabbitMQ restart and a Redis restart: the outages are
 * reported (status stream, `on('disconnected')`), recovered (`on('connected')`), and tasks run
 * again afterwards without a restart of the app.
 */
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CeleryClient, CeleryModule, CeleryServer, CeleryTask } from 'nestjs-celery';
import { filter, firstValueFrom, lastValueFrom, timeout } from 'rxjs';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { describeWithPrivateBrokers, startPrivateRabbitMq, startPrivateRedis, type PrivateRabbitMq, type PrivateRedis } from '../support/private-broker.js';
import { uniqueName } from '../support/services.js';

const describeFaults = describeWithPrivateBrokers('fault: CeleryServer status through restarts', 'rabbitmq', 'redis');

@Injectable()
class Tasks {
  @CeleryTask('status.add')
  add(x: number, y: number) {
    return x + y;
  }
}

describeFaults('fault: CeleryServer status through broker and backend restarts', () => {
  const queue = uniqueName('faults.status');

  let rabbit: PrivateRabbitMq;
  let redis: PrivateRedis;

  beforeAll(async () => {
    [rabbit, redis] = await Promise.all([startPrivateRabbitMq({ port: 5713 }), startPrivateRedis({ port: 6404 })]);
  }, 180_000);
  afterAll(async () => {
    await Promise.all([rabbit?.stop(), redis?.stop()]);
  }, 120_000);

  test('outages are reported and recovered, and tasks run again afterwards', async () => {
    @Module({
      imports: [CeleryModule.forRoot({ broker: rabbit.url, backend: redis.url(), taskDefaultQueue: queue, logger: silentLogger })],
      providers: [Tasks],
    })
    class AppModule {}
    const server = new CeleryServer();
    const events: string[] = [];
    const statuses: string[] = [];
    server.on('disconnected', (c) => events.push(`${c} disconnected`));
    server.on('connected', (c) => events.push(`${c} connected`));
    server.status.subscribe((s) => statuses.push(s));
    // what the server logs about its connections (Nest's Logger goes to the app's logger)
    const lines: string[] = [];
    const keep = (m: unknown) => {
      if (/connection (lost|reconnecting|restored)/.test(String(m))) lines.push(String(m));
    };
    const logger = { log: keep, warn: keep, error: keep, debug: () => undefined, verbose: () => undefined };
    const app = await NestFactory.createMicroservice(AppModule, { strategy: server, logger });
    await app.listen();
    const client = app.get(CeleryClient);
    const add = () => lastValueFrom(client.send<number>('status.add', [2, 3]));
    try {
      await expect(add()).resolves.toBe(5);
      // starting up is not an outage: nothing was lost or restored yet
      expect(lines).toEqual([]);

      await rabbit.restart(500);
      await expect(add()).resolves.toBe(5);
      expect(events).toEqual(expect.arrayContaining(['broker disconnected', 'broker connected']));
      expect(statuses).toEqual(expect.arrayContaining(['connected', 'disconnected']));
      // the status stream settles on connected (a recovery round may still be reporting when the task returns)
      await firstValueFrom(
        server.status.pipe(
          filter((s) => s === 'connected'),
          timeout(10_000),
        ),
      ).catch(() => undefined);
      expect({ statuses, last: statuses.at(-1) }).toMatchObject({ last: 'connected' });
      expect(lines.some((l) => /^broker connection (lost|reconnecting): recovering with backoff$/.test(l))).toBe(true);
      expect(lines).toContain('broker connection restored');

      await redis.restart(500);
      await expect(add()).resolves.toBe(5);
      expect(events).toEqual(expect.arrayContaining(['backend disconnected']));
      expect(events.filter((e) => e === 'backend connected').length).toBeGreaterThanOrEqual(2);
    } finally {
      await app.close();
    }
  }, 180_000);
});
