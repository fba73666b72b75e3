/**
 * Run by idle-memory-release.spec.ts in a fresh process (test/support/ts-child.ts), so the resident memory read is this
 * worker's alone: a burst of tasks that churn through short-lived objects, then the worker left idle until it logs that
 * it gave memory back.
 */
import { Celery, Worker } from '../../libs/nestjs-celery/src/engine/index.js';
import { silentLogger, type CeleryLogger } from '../../libs/nestjs-celery/src/common/logger.js';

const MB = 1024 * 1024;

export async function main([idleSeconds, tasks]: string[]): Promise<unknown> {
  const app = new Celery({ broker: 'memory://idle-release', backend: 'memory://idle-release', logger: silentLogger });
  let released: ((line: string) => void) | undefined;
  const releaseLine = new Promise<string>((resolve) => (released = resolve));
  const logger: CeleryLogger = { ...silentLogger, log: (line: string) => (line.startsWith('idle for') ? released?.(line) : undefined) };
  const worker = new Worker(app, { concurrency: 50, idleMemoryRelease: Number(idleSeconds), logger });
  // a sliding window of recent records, as a cache would keep: enough churn to grow V8's young and old spaces
  let recent: object[] = [];
  worker.register('churn', ([i]) => {
    for (let k = 0; k < 2000; k++) recent.push({ id: `r${String(i)}-${k}`, args: [i, k], kwargs: { at: k } });
    if (recent.length > 100_000) recent = recent.slice(-50_000);
    return i;
  });
  await worker.start();
  try {
    const before = process.memoryUsage.rss();
    const n = Number(tasks);
    const results = await Promise.all(Array.from({ length: n }, (_, i) => app.sendTask('churn', [i])));
    const values = await Promise.all(results.map((r) => r.get({ timeout: 120_000 })));
    if (values.some((v, i) => v !== i)) throw new Error('a churn task returned a wrong value');
    recent = [];
    const peak = process.memoryUsage.rss();
    const line = await Promise.race([releaseLine, new Promise<never>((_, fail) => setTimeout(() => fail(new Error('no release logged within 60 s')), 60_000))]);
    return { beforeMB: before / MB, peakMB: peak / MB, afterMB: process.memoryUsage.rss() / MB, line };
  } finally {
    await worker.stop(5_000);
    await app.close();
  }
}
