/** CeleryHealthIndicator with @nestjs/terminus: up when every connection is, down with details otherwise. */
import { expect } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { CeleryClient, CeleryHealthIndicator, CeleryModule } from 'nestjs-celery';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { eventually } from '../support/eventually.js';
import { REDIS_URL, describeIfAvailable } from '../support/services.js';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly celery: CeleryHealthIndicator,
  ) {}
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.celery.isHealthy('celery')]);
  }
}

async function healthOf(options: Parameters<typeof CeleryModule.forRoot>[0]) {
  const moduleRef: TestingModule = await Test.createTestingModule({
    imports: [TerminusModule.forRoot({ logger: false }), CeleryModule.forRoot({ logger: silentLogger, ...options })],
    controllers: [HealthController],
  }).compile();
  moduleRef.useLogger(false);
  await moduleRef.init();
  const controller = moduleRef.get(HealthController);
  const result = await controller.check().then(
    (ok) => ({ ok: true as const, body: ok }),
    (error: { response?: unknown }) => ({ ok: false as const, body: error.response }),
  );
  await moduleRef.close();
  return result;
}

describe('CeleryHealthIndicator (terminus)', () => {
  test("'starting' while the first connection is retried (brokerConnectionRetryOnStartup), 'down' once it gave up", async () => {
    // nothing listens on this port
    const broker = 'redis://:s3cret@127.0.0.1:6413/0';
    const moduleRef = await Test.createTestingModule({
      imports: [
        TerminusModule.forRoot({ logger: false }),
        CeleryModule.forRoot({ logger: silentLogger, broker, backend: null, brokerConnectionMaxRetries: 1 }),
      ],
      controllers: [HealthController],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    try {
      const indicator = moduleRef.get(CeleryHealthIndicator);
      // the check itself starts the lazy client's connection; its first attempt is refused
      const starting = await indicator.isHealthy('celery');
      expect(starting).toEqual({
        celery: { status: 'down', default: { broker: 'starting', backend: 'none', retry: 1, error: expect.stringMatching(/ECONNREFUSED/) } },
      });
      const app = moduleRef.get(CeleryClient).unwrap();
      await eventually(() => app.startup.state === 'down', 'the startup retry to give up', 30_000);
      const down = await indicator.isHealthy('celery');
      expect(down.celery).toMatchObject({ status: 'down', default: { broker: 'down', error: expect.stringMatching(/Giving up after 1 retries/) } });
      expect(JSON.stringify(down)).not.toContain('s3cret');
    } finally {
      await moduleRef.close();
    }
  }, 60_000);

  test('up on the memory transport, with each connection status', async () => {
    const { ok, body } = await healthOf({ broker: 'memory://health', backend: 'memory://health' });
    expect(ok).toBe(true);
    expect(body).toMatchObject({ status: 'ok', info: { celery: { status: 'up', default: { broker: 'connected', backend: 'connected' } } } });
  });
});

const describeRedis = await describeIfAvailable('CeleryHealthIndicator over Redis', 'redis');
describeRedis('CeleryHealthIndicator over Redis', () => {
  test('up when Redis answers; down, naming the client, when a named client cannot reach its broker', async () => {
    const good = await healthOf({ broker: REDIS_URL, backend: REDIS_URL });
    expect(good.ok).toBe(true);
    const bad = await healthOf({ broker: REDIS_URL, backend: REDIS_URL, clients: [{ name: 'reports', broker: 'redis://127.0.0.1:6399/0', backend: null }] });
    expect(bad.ok).toBe(false);
    expect(bad.body).toMatchObject({ status: 'error', error: { celery: { status: 'down', default: { broker: 'connected' }, reports: { backend: 'none' } } } });
    expect((bad.body as { error: { celery: { reports: { broker: string } } } }).error.celery.reports.broker).not.toBe('connected');
  }, 20_000);
});
