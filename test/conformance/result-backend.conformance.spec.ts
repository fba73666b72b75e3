/**
 * What every ResultBackend must do, run against every driver in drivers.ts: store/get/forget,
 * watch (current state, then each update in order, completing on a ready state), large values,
 * chord counters, expiry and reconnect. A capability the driver declares absent is asserted absent.
 */
import { randomUUID } from 'node:crypto';
import { filter, firstValueFrom, lastValueFrom, timeout, toArray } from 'rxjs';
import { createResultMeta } from '../../libs/nestjs-celery/src/protocol/result-meta.js';
import type { ResultBackend } from '../../libs/nestjs-celery/src/transport/result-backend.interface.js';
import { eventually } from '../support/eventually.js';
import { describeIfAvailable } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { backendDrivers, type BackendHandle } from './drivers.js';

/** the reply address a client would give: RPC routes results to the asking client's own queue */
const target = (backend: ResultBackend, taskId: string) => ({ taskId, replyTo: backend.oid, correlationId: taskId });

/** The first state of `taskId` that `backend` sees with `status`, within a generous deadline. */
const seen = (backend: ResultBackend, taskId: string, status = 'SUCCESS') =>
  firstValueFrom(
    backend.watch(taskId).pipe(
      filter((m) => m.status === status),
      timeout(15_000),
    ),
  );

for (const driver of backendDrivers) {
  const describeDriver = await describeIfAvailable(`result backend conformance: ${driver.name}`, ...driver.services);

  describeDriver(`ResultBackend conformance: ${driver.name}`, () => {
    let handle: BackendHandle;
    const extra: BackendHandle[] = [];
    /** another client of the same backend service, closed after the suite */
    const open = async (options?: Parameters<typeof driver.create>[0]) => {
      const h = driver.create(options);
      extra.push(h);
      await h.connect();
      return h;
    };
    beforeAll(async () => {
      handle = driver.create();
      await handle.connect();
    });
    afterAll(async () => {
      for (const h of extra) await h.close().catch(() => undefined);
      await handle.close();
    });

    it('a stored result is seen by watch() and get(); forget() drops it', async () => {
      const { backend } = handle;
      const taskId = randomUUID();
      await backend.onTaskCall(taskId);
      const done = seen(backend, taskId);
      await backend.store(createResultMeta(taskId, 'SUCCESS', { n: 42 }), target(backend, taskId));
      expect((await done).result).toEqual({ n: 42 });
      expect((await backend.get(taskId))?.result).toEqual({ n: 42 });
      await backend.forget(taskId);
      expect(await backend.get(taskId)).toBeUndefined();
    }, 30_000);

    it('watch streams every state in order and completes on the ready one; a late watcher gets the current state', async () => {
      const { backend } = handle;
      const taskId = randomUUID();
      await backend.onTaskCall(taskId);
      const stream = lastValueFrom(backend.watch(taskId).pipe(toArray(), timeout(15_000)));
      const states = [
        createResultMeta(taskId, 'STARTED', { pid: 1 }),
        createResultMeta(taskId, 'PROGRESS', { done: 1 }),
        createResultMeta(taskId, 'SUCCESS', 'ok'),
      ];
      // each one stored after the previous one reached the stream, as a worker's updates do
      for (const meta of states) {
        const reached = seen(backend, taskId, meta.status);
        await backend.store(meta, target(backend, taskId));
        await reached;
      }
      expect((await stream).map((m) => m.status)).toEqual(['STARTED', 'PROGRESS', 'SUCCESS']);
      const late = await lastValueFrom(backend.watch(taskId).pipe(toArray(), timeout(15_000)));
      expect(late.map((m) => [m.status, m.result])).toEqual([['SUCCESS', 'ok']]);
    }, 30_000);

    it('round-trips a large value (1 MiB)', async () => {
      const { backend } = handle;
      const taskId = randomUUID();
      await backend.onTaskCall(taskId);
      const big = 'x'.repeat(1 << 20);
      const done = seen(backend, taskId);
      await backend.store(createResultMeta(taskId, 'SUCCESS', big), target(backend, taskId));
      expect((await done).result).toBe(big);
    }, 30_000);

    it('chords: native counters work where present; without them chord_unlock joins (chords) or chords are refused', async () => {
      const { backend } = handle;
      const chord = backend.chord;
      if (!chord) {
        // no native counters: chords are joined by celery.chord_unlock polling get(), or (RPC, whose
        // results go to one client) the engine refuses chords: capabilities.chords says which
        expect(backend.chord).toBeUndefined();
        return;
      }
      expect(backend.capabilities.chords).toBe(true);
      const groupId = randomUUID();
      await chord.setSize(groupId, 3);
      const part = (i: number) => ({ taskId: `${groupId}-${i}`, state: 'SUCCESS', result: i * 10 });
      // finishing out of order: only the part that completes the chord gets the parts, in header order
      expect(await chord.onPartReturn(groupId, 2, part(2))).toBeNull();
      expect(await chord.onPartReturn(groupId, 0, part(0))).toBeNull();
      expect(await chord.onPartReturn(groupId, 1, part(1))).toEqual([part(0), part(1), part(2)]);
      await chord.forget(groupId);
      // forgotten: a part returning now sees no size, so it never completes the chord again
      expect(await chord.onPartReturn(groupId, 3, part(3))).toBeNull();
      await chord.forget(groupId);
    }, 30_000);

    it(`expiry (${driver.expiry}): result_expires honoured as the driver documents`, async () => {
      const taskId = randomUUID();
      if (driver.expiry === 'ttl') {
        const { backend } = await open({ resultExpiresSeconds: 1 });
        await backend.store(createResultMeta(taskId, 'SUCCESS', 1), target(backend, taskId));
        expect((await backend.get(taskId))?.status).toBe('SUCCESS');
        await eventually(async () => (await backend.get(taskId)) === undefined, 'the result to expire after result_expires = 1 s', 15_000, 100);
      } else if (driver.expiry === 'one-shot') {
        // the asking client receives the result; any other client never can: nothing is stored
        const asking = handle.backend;
        const other = (await open()).backend;
        await asking.onTaskCall(taskId);
        const done = seen(asking, taskId);
        await other.store(createResultMeta(taskId, 'SUCCESS', 1), target(asking, taskId));
        expect((await done).result).toBe(1);
        expect(await other.get(taskId)).toBeUndefined();
      } else {
        // kept for the life of the process: the backend takes no result_expires
        const { backend } = handle;
        await backend.store(createResultMeta(taskId, 'SUCCESS', 1), target(backend, taskId));
        expect((await backend.get(taskId))?.status).toBe('SUCCESS');
      }
    }, 30_000);

    it('reconnect: after the network is cut and restored, a watch started before the cut gets its result', async () => {
      if (!driver.network) {
        // in-process: there is no connection to lose, and status$ says connected throughout
        expect(await firstValueFrom(handle.backend.status$)).toBe('connected');
        return;
      }
      const proxy = new TcpProxy(0, driver.network.port);
      await proxy.start();
      const cut = driver.create({ viaPort: proxy.port });
      try {
        await cut.connect();
        const { backend } = cut;
        const taskId = randomUUID();
        await backend.onTaskCall(taskId);
        const done = seen(backend, taskId);
        done.catch(() => undefined); // awaited below; a failure before then is reported there

        proxy.cut();
        await firstValueFrom(
          backend.status$.pipe(
            filter((s) => s !== 'connected'),
            timeout(30_000),
          ),
        );
        proxy.restore();
        await firstValueFrom(
          backend.status$.pipe(
            filter((s) => s === 'connected'),
            timeout(30_000),
          ),
        );
        expect(proxy.accepted).toBeGreaterThanOrEqual(2);

        await backend.store(createResultMeta(taskId, 'SUCCESS', 'after'), target(backend, taskId));
        expect((await done).result).toBe('after');
      } finally {
        await cut.close();
        await proxy.stop();
      }
    }, 60_000);
  });
}
