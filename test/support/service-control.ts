/**
 * Restart the real brokers, for the fault suites only (they run alone: scripts/test.mjs).
 * RabbitMQ: stop and start the rabbit app (connections drop, durable queues and persistent
 * messages survive). Redis: SHUTDOWN SAVE then the same start command CI uses, so the data
 * comes back from the dump even though the server runs with `--save ""`.
 */
import { execFileSync, spawnSync } from 'node:child_process';

const REDIS_START = ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379', '--save', '', '--appendonly', 'no', '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const redisUp = () => spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG';

export function stopRabbitMq(): void {
  execFileSync('rabbitmqctl', ['-q', 'stop_app'], { stdio: 'ignore' });
}

export function startRabbitMq(): void {
  execFileSync('rabbitmqctl', ['-q', 'start_app'], { stdio: 'ignore' });
  execFileSync('rabbitmqctl', ['-q', 'await_startup', '--timeout', '60'], { stdio: 'ignore' });
}

/** Take RabbitMQ down for `downMs`, then back up; resolves once it accepts connections again. */
export async function restartRabbitMq(downMs = 1000): Promise<void> {
  stopRabbitMq();
  await sleep(downMs);
  startRabbitMq();
}

/** Take Redis down (saving its data) for `downMs`, then start it again with CI's command. */
export async function restartRedis(downMs = 1000): Promise<void> {
  spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'shutdown', 'save'], { stdio: 'ignore' });
  await waitFor(() => !redisUp(), 'Redis to stop');
  await sleep(downMs);
  execFileSync('redis-server', REDIS_START, { stdio: 'ignore' });
  await waitFor(redisUp, 'Redis to start');
}

/** Both brokers are up (a fault suite that failed midway must not leave them down). */
export async function ensureBrokersUp(): Promise<void> {
  if (!redisUp()) execFileSync('redis-server', REDIS_START, { stdio: 'ignore' });
  spawnSync('rabbitmqctl', ['-q', 'start_app'], { stdio: 'ignore' });
  spawnSync('rabbitmqctl', ['-q', 'await_startup', '--timeout', '60'], { stdio: 'ignore' });
  await waitFor(redisUp, 'Redis');
}
