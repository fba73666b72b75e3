/**
 * What every ResultBackend must do, run against every driver in drivers.ts: store/get/forget,
 * watch, large values, and native chord counters present or absent.
 */
import { randomUUID } from 'node:crypto';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { createResultMeta } from '../../libs/nestjs-celery/src/protocol/result-meta.js';
import { describeIfAvailable } from '../support/services.js';
import { backendDrivers } from './drivers.js';

for (const driver of backendDrivers) {
  const describeDriver = await describeIfAvailable(`result backend conformance: ${driver.name}`, ...driver.services);

  describeDriver(`ResultBackend conformance: ${driver.name}`, () => {
    let handle: ReturnType<typeof driver.create>;
    beforeAll(async () => {
      handle = driver.create();
      await handle.connect();
    });
    afterAll(() => handle.close());

    /** the reply address a client would give: RPC routes results to its own queue */
    const target = (taskId: string) => ({ taskId, replyTo: handle.backend.oid, correlationId: taskId });

    it('a stored result is seen by watch() and get()', async () => {
      const taskId = randomUUID();
      await handle.backend.onTaskCall(taskId);
      const seen = firstValueFrom(
        handle.backend.watch(taskId).pipe(
          filter((m) => m.status === 'SUCCESS'),
          timeout(10_000),
        ),
      );
      await handle.backend.store(createResultMeta(taskId, 'SUCCESS', { n: 42 }), target(taskId));
      expect((await seen).result).toEqual({ n: 42 });
      expect((await handle.backend.get(taskId))?.result).toEqual({ n: 42 });
    }, 30_000);

    it('round-trips a large value (1 MiB)', async () => {
      const taskId = randomUUID();
      await handle.backend.onTaskCall(taskId);
      const big = 'x'.repeat(1 << 20);
      const seen = firstValueFrom(
        handle.backend.watch(taskId).pipe(
          filter((m) => m.status === 'SUCCESS'),
          timeout(10_000),
        ),
      );
      await handle.backend.store(createResultMeta(taskId, 'SUCCESS', big), target(taskId));
      expect((await seen).result).toBe(big);
    }, 30_000);

    it('native chord counters are present exactly when declared', () => {
      expect(handle.backend.chord !== undefined).toBe(driver.capabilities.nativeChord);
    });
  });
}
