/**
 * Fault: the broker is not up yet when a worker and a client start (Celery's
 * broker_connection_retry_on_startup): both retry with Celery's backoff and log line, come up
 * when a private Redis appears on the port, and run a task; past brokerConnectionMaxRetries a
 * clear error.
 */
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { lastValueFrom } from 'rxjs';
import { CeleryClient, CeleryModule, CeleryServer, CeleryTask } from 'nestjs-celery';
import type { CeleryLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { BrokerConnectionError } from '../../libs/nestjs-celery/src/engine/errors.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { eventually } from '../support/eventually.js';
import { describeWithPrivateBrokers, startPrivateRedis, type PrivateRedis } from '../support/private-broker.js';
import { uniqueName } from '../support/services.js';

const describeFaults = describeWithPrivateBrokers('fault: broker not up at startup', 'redis');

@Injectable()
class StartupTasks {
  @CeleryTask('startup.nest.add')
  add(x: number, y: number) {
    return x + y;
  }
}

function recorder() {
  const lines: string[] = [];
  const logger: CeleryLogger = { log: (m) => void lines.push(m), warn: (m) => void lines.push(m), error: (m) => void lines.push(m), debug: () => undefined };
  return { lines, logger };
}

describeFaults('fault: broker not up at startup', () => {
  // nothing listens on these ports until the test starts a private Redis there
  const PORT = 6411;
  const DEAD_PORT = 6412;
  const NEST_PORT = 6414;
  let redis: PrivateRedis | undefined;
  let nestRedis: PrivateRedis | undefined;

  afterAll(async () => {
    await Promise.all([redis?.stop(), nestRedis?.stop()]);
  }, 60_000);

  test('a Nest app with a CeleryServer: listen() waits for the broker, then its client runs a task', async () => {
    const url = `redis://127.0.0.1:${NEST_PORT}/0`;
    const queue = uniqueName('startup.nest');
    const { lines, logger } = recorder();
    @Module({ imports: [CeleryModule.forRoot({ broker: url, backend: url, taskDefaultQueue: queue, logger })], providers: [StartupTasks] })
    class AppModule {}
    const app = await NestFactory.createMicroservice(AppModule, { strategy: new CeleryServer(), logger: false });
    const listening = app.listen();
    try {
      await eventually(() => lines.some((l) => l.startsWith('consumer: Cannot connect') && l.endsWith('(1/100)')), 'the first retry line', 60_000);
      nestRedis = await startPrivateRedis({ port: NEST_PORT });
      await listening;
      await expect(lastValueFrom(app.get(CeleryClient).send<number>('startup.nest.add', [2, 3]))).resolves.toBe(5);
      expect(lines).toContain(`consumer: Connected to ${url}`);
      // the banner, once
      expect(lines.filter((l) => l.includes('[config]'))).toHaveLength(1);
    } finally {
      await app.close();
    }
  }, 180_000);

  test('a worker and a client retry until the broker appears, then run a task', async () => {
    const url = `redis://127.0.0.1:${PORT}/0`;
    const queue = uniqueName('startup.retry');
    const w = recorder();
    const c = recorder();
    const app = new Celery({ broker: url, backend: url, taskDefaultQueue: queue, logger: w.logger });
    const worker = new Worker(app, { logger: w.logger, queues: [queue] });
    worker.register('startup.add', ([x, y]) => (x as number) + (y as number));
    const client = new CeleryClient({ broker: url, backend: url, taskDefaultQueue: queue, logger: c.logger, publishTimeoutMs: 120_000 });
    const started = worker.start();
    const sent = client.sendTask<number>('startup.add', [2, 3]);
    try {
      // a couple of attempts (2 s, then 4 s) before the broker comes up
      await eventually(() => w.lines.some((l) => l.includes('(2/100)')), 'the second retry line', 60_000);
      expect(app.startup).toMatchObject({ state: 'starting', retry: 2 });
      redis = await startPrivateRedis({ port: PORT });
      await started;
      const result = await sent;
      await expect(result.get({ timeout: 60_000 })).resolves.toBe(5);
      expect(app.startup.state).toBe('up');
    } finally {
      await worker.stop().catch(() => undefined);
      await app.close();
      await client.close();
    }
    const retryLine = (role: string, n: number, seconds: string) =>
      new RegExp(`^${role}: Cannot connect to redis://127\\.0\\.0\\.1:${PORT}/0: .+\\. Trying again in ${seconds} seconds\\.\\.\\. \\(${n}/100\\)$`);
    // the app's own lines (the transport may add its own about the socket error)
    const consumer = w.lines.filter((l) => l.startsWith('consumer:'));
    expect(consumer[0]).toMatch(retryLine('consumer', 1, '2.00'));
    expect(consumer[1]).toMatch(retryLine('consumer', 2, '4.00'));
    expect(consumer.at(-1)).toBe(`consumer: Connected to ${url}`);
    const producer = c.lines.filter((l) => l.startsWith('producer:'));
    expect(producer[0]).toMatch(retryLine('producer', 1, '2.00'));
    expect(producer.at(-1)).toBe(`producer: Connected to ${url}`);
  }, 180_000);

  test('past brokerConnectionMaxRetries the worker fails to start with a clear error', async () => {
    const { lines, logger } = recorder();
    const url = `redis://:s3cret@127.0.0.1:${DEAD_PORT}/0`;
    const app = new Celery({ broker: url, backend: null, logger, brokerConnectionMaxRetries: 1 });
    const worker = new Worker(app, { logger });
    const failed = await worker.start().catch((e: unknown) => e);
    expect(app.startup.state).toBe('down');
    await app.close();
    expect(failed).toBeInstanceOf(BrokerConnectionError);
    expect((failed as Error).message).toMatch(
      new RegExp(
        `^consumer: Cannot connect to redis://:\\*\\*@127\\.0\\.0\\.1:${DEAD_PORT}/0: .+\\. Giving up after 1 retries \\(brokerConnectionMaxRetries\\)$`,
      ),
    );
    expect(lines.join('\n')).not.toContain('s3cret');
    expect(lines.filter((l) => l.startsWith('consumer:'))).toEqual([
      expect.stringMatching(/Trying again in 2\.00 seconds\.\.\. \(1\/1\)$/),
      (failed as Error).message,
    ]);
  }, 60_000);
});
