/**
 * Run by lazy-families.spec.ts in a fresh process (test/support/ts-child.ts): an app on the given broker and backend
 * URLs sends a task to its own worker and reads the result, or, with no queue, only connects and reports the error.
 */
import { Celery, Worker } from '../../libs/nestjs-celery/src/engine/index.js';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';

export async function main([broker, backend, queue]: string[]): Promise<unknown> {
  // no retries: a connect that fails is reported at once, not after Celery's backoff
  const app = new Celery({ broker, backend, logger: silentLogger, brokerConnectionMaxRetries: 1 });
  if (!queue) {
    try {
      await app.connect();
      return { connected: true };
    } catch (error) {
      return { name: (error as Error).name, message: (error as Error).message };
    } finally {
      await app.close().catch(() => undefined);
    }
  }
  const worker = new Worker(app, { queues: [queue], concurrency: 1, logger: silentLogger });
  worker.register('lazy.add', ([x, y]) => (x as number) + (y as number));
  await worker.start();
  try {
    const result = await app.sendTask('lazy.add', [2, 3], {}, { queue });
    return { value: await result.get({ timeout: 60_000 }), broker: app.broker.kind, backend: app.backend?.kind };
  } finally {
    await worker.stop();
    await app.close();
  }
}
