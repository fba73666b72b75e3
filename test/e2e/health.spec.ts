/** CeleryHealthIndicator with @nestjs/terminus: up when every connection is, down with details otherwise. */
import { Controller, Get } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { CeleryHealthIndicator, CeleryModule } from 'nestjs-celery';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
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
    expect((bad.body as any).error.celery.reports.broker).not.toBe('connected');
  }, 20_000);
});
