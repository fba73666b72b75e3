/**
 * Fault: a worker is SIGKILLed in the middle of a run, on RabbitMQ and on Redis. A second
 * worker finishes the run: every task ends with exactly one stored outcome (its own SUCCESS),
 * none is lost. On RabbitMQ the killed connection's unacked messages are requeued at once; on
 * Redis they sit in kombu's `unacked` set until the visibility timeout restores them.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWithPrivateBrokers, startPrivateRabbitMq, startPrivateRedis, type PrivateRabbitMq, type PrivateRedis } from '../support/private-broker.js';
import { uniqueName } from '../support/services.js';
import { RunLog, awaitOutcomes, expectAllSucceeded, expectRuns, outcomes, preload } from './support.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const describeFaults = describeWithPrivateBrokers('fault: worker SIGKILL', 'rabbitmq', 'redis');
const N = 3000;

function startWorker(brokerUrl: string, backendUrl: string, queue: string, runsKey: string): Promise<{ child: ChildProcess; processed: () => number }> {
  const child = spawn(process.execPath, [join(here, 'worker-child.mjs'), brokerUrl, backendUrl, queue, runsKey], { stdio: ['ignore', 'pipe', 'pipe'] });
  let processed = 0;
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${err}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (line === 'ready') {
          clearTimeout(timer);
          resolve({ child, processed: () => processed });
        }
        const m = /^processed (\d+)/.exec(line);
        if (m) processed = Number(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${err}`)));
  });
}

describeFaults.each([['RabbitMQ'], ['Redis']])('fault: worker SIGKILLed mid-run on %s', (name) => {
  const queue = uniqueName('faults.kill');
  const children: ChildProcess[] = [];
  let rabbit: PrivateRabbitMq | undefined;
  let redis: PrivateRedis;
  let brokerUrl: string;
  let runs: RunLog;

  beforeAll(async () => {
    // the child workers load the built library, as a user's process would
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'libs', 'nestjs-celery', 'tsconfig.lib.json')], {
      stdio: 'pipe',
    });
    redis = await startPrivateRedis({ port: name === 'Redis' ? 6400 : 6401 });
    if (name === 'RabbitMQ') rabbit = await startPrivateRabbitMq({ port: 5710 });
    brokerUrl = rabbit?.url ?? redis.url(1);
    runs = new RunLog(redis.url());
  }, 240_000);
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    runs?.close();
    await Promise.all([rabbit?.stop(), redis?.stop()]);
  }, 120_000);

  test('a second worker finishes the run: every task has its own SUCCESS, none lost', async () => {
    const ids = await preload(brokerUrl, queue, N);
    const first = await startWorker(brokerUrl, redis.url(), queue, runs.key);
    children.push(first.child);
    while (first.processed() < N / 3) await new Promise((r) => setTimeout(r, 10));
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const before = (await outcomes(redis.url(), ids)).filter(Boolean).length;
    expect(before).toBeLessThan(N);

    const second = await startWorker(brokerUrl, redis.url(), queue, runs.key);
    children.push(second.child);
    const all = await awaitOutcomes(redis.url(), ids, 90_000);
    expectAllSucceeded(all);
    // only what the killed worker had in flight (concurrency 10) may have run twice
    await expectRuns(runs, ids, 10);
    second.child.kill('SIGTERM');
  }, 180_000);
});
