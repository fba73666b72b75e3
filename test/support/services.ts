/**
 * Which real services a suite needs, and what happens when one is missing:
 * - locally: the suite is skipped with one clear "skipped: …, start it with …" line;
 * - under CI=true: the suite fails (CI must never pass on skipped interop tests).
 */
import { createConnection } from 'node:net';
import { spawnSync } from 'node:child_process';
import { AMQP4_PERMISSIVE_URL, AMQP4_URL, CELERY_PEERS, PYTHON, otelPythonAvailable } from './peers.js';

export { AMQP4_PERMISSIVE_URL, AMQP4_URL, PYTHON };

export type ServiceName = 'redis' | 'rabbitmq' | 'python-celery' | 'rabbitmq4' | 'rabbitmq4-permissive' | 'celery-5.5' | 'celery-5.6' | 'python-otel';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672//';

const HOW_TO_START: Record<ServiceName, string> = {
  redis: 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
  rabbitmq: 'rabbitmq-server -detached',
  'python-celery': 'apt-get update && apt-get install -y python3-celery python3-redis python3-msgpack python3-yaml',
  rabbitmq4: 'scripts/interop/rabbitmq4.sh start',
  'rabbitmq4-permissive': 'RABBITMQ4_PORT=5683 RABBITMQ4_PERMIT=transient_nonexcl_queues scripts/interop/rabbitmq4.sh start',
  'celery-5.5': 'scripts/interop/celery-peers.sh',
  'celery-5.6': 'scripts/interop/celery-peers.sh',
  'python-otel': 'scripts/interop/celery-peers.sh',
};

function amqpPort(url: string): number {
  return Number(new URL(url).port || 5672);
}

export function tcpReachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const cache = new Map<ServiceName, Promise<boolean>>();

export function isAvailable(service: ServiceName): Promise<boolean> {
  let p = cache.get(service);
  if (!p) {
    p =
      service === 'redis'
        ? tcpReachable('127.0.0.1', Number(new URL(REDIS_URL).port || 6379))
        : service === 'rabbitmq'
          ? tcpReachable('127.0.0.1', amqpPort(AMQP_URL))
          : service === 'rabbitmq4'
            ? tcpReachable('127.0.0.1', amqpPort(AMQP4_URL))
            : service === 'rabbitmq4-permissive'
              ? tcpReachable('127.0.0.1', amqpPort(AMQP4_PERMISSIVE_URL))
              : service === 'python-otel'
                ? Promise.resolve(otelPythonAvailable())
                : service === 'celery-5.5' || service === 'celery-5.6'
                  ? Promise.resolve(CELERY_PEERS[service === 'celery-5.5' ? '5.5' : '5.6'].available())
                  : Promise.resolve(spawnSync(PYTHON, ['-c', 'import celery, redis'], { stdio: 'ignore' }).status === 0);
    cache.set(service, p);
  }
  return p;
}

/**
 * Resolve which of `services` are missing. Under CI=true a missing service throws (the suite
 * fails); otherwise one "skipped:" line is printed and the caller skips its tests.
 */
export async function missingServices(suite: string, ...services: ServiceName[]): Promise<ServiceName[]> {
  const missing: ServiceName[] = [];
  for (const s of services) if (!(await isAvailable(s))) missing.push(s);
  if (missing.length === 0) return missing;
  const how = missing.map((s) => `${s}: ${HOW_TO_START[s]}`).join('; ');
  if (process.env.CI === 'true' || process.env.CI === '1') {
    throw new Error(`${suite} needs ${missing.join(', ')} and CI=true makes it mandatory; start it with ${how}`);
  }
  process.stdout.write(`skipped: ${suite} (${missing.join(', ')} not reachable), start it with ${how}\n`);
  return missing;
}

/**
 * Use with top-level await in a suite (ESM):
 *   const describeRedis = await describeIfAvailable('redis broker', 'redis');
 *   describeRedis('redis broker', () => { ... });
 * Returns `describe` when the services are up, `describe.skip` (after one "skipped:" line)
 * when not, and throws under CI=true.
 */
export async function describeIfAvailable(suite: string, ...services: ServiceName[]): Promise<jest.Describe> {
  const missing = await missingServices(suite, ...services);
  return missing.length ? describe.skip : describe;
}

/** A unique name per test run, so suites can share the real brokers without colliding. */
export function uniqueName(prefix: string): string {
  return `${prefix}.${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}`;
}
