/**
 * Fault: a worker is SIGKILLed in the middle of a run, on RabbitMQ and on Redis. A second
 * worker finishes the run: every task ends with exactly one stored outcome (its own SUCCESS),
 * none is lost. On RabbitMQ the killed connection's unacked messages are requeued at once; on
 * Redis they sit in kombu's `unacked` set until the visibility timeout restores them.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteQueues } from '../support/cleanup.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';
import { awaitOutcomes, expectAllSucceeded, outcomes, preload } from './support.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const describeFaults = await describeIfAvailable('fault: worker SIGKILL', 'rabbitmq', 'redis');
const N = 3000;

function startWorker(brokerUrl: string, queue: string): Promise<{ child: ChildProcess; processed: () => number }> {
  const child = spawn(process.execPath, [join(here, 'worker-child.mjs'), brokerUrl, REDIS_URL, queue], { stdio: ['ignore', 'pipe', 'pipe'] });
  let processed = 0;
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
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

describeFaults.each([
  ['RabbitMQ', AMQP_URL],
  ['Redis', REDIS_URL],
])('fault: worker SIGKILLed mid-run on %s', (_name, brokerUrl) => {
  const queue = uniqueName('faults.kill');
  const children: ChildProcess[] = [];

  beforeAll(() => {
    // the child workers load the built library, as a user's process would
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'libs', 'nestjs-celery', 'tsconfig.lib.json')], { stdio: 'pipe' });
  }, 120_000);
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await deleteQueues(brokerUrl, [queue]);
  });

  test('a second worker finishes the run: every task has its own SUCCESS, none lost', async () => {
    const ids = await preload(brokerUrl, queue, N);
    const first = await startWorker(brokerUrl, queue);
    children.push(first.child);
    while (first.processed() < N / 3) await new Promise((r) => setTimeout(r, 10));
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const before = (await outcomes(ids)).filter(Boolean).length;
    expect(before).toBeLessThan(N);

    const second = await startWorker(brokerUrl, queue);
    children.push(second.child);
    const all = await awaitOutcomes(ids, 90_000);
    expectAllSucceeded(all);
    second.child.kill('SIGTERM');
  }, 180_000);
});
