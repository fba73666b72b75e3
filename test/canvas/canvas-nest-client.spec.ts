/**
 * The Nest CeleryClient exposes canvas: `apply()` resolves the AsyncResult/GroupResult,
 * `apply$()` is a cold Observable of the value. In-process (memory transport), and once against
 * a real Python worker over Redis with a native chord.
 */
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import type { AsyncResult } from '../../libs/nestjs-celery/src/engine/async-result.js';
import { GroupMemberError, GroupResult, chain, chord, chunks, group, s, si, signature } from '../../libs/nestjs-celery/src/engine/canvas/index.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { CeleryClient } from '../../libs/nestjs-celery/src/nest/celery.client.js';
import { ValueError } from '../../libs/nestjs-celery/src/protocol/python-errors.js';
import { deleteRedisQueues } from '../support/cleanup.js';
import { startPythonWorker, type PythonWorker } from '../support/python.js';
import { REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

const T = { timeout: 10_000 };

describe('CeleryClient canvas (memory transport)', () => {
  const url = `memory://${uniqueName('canvas-nest')}`;
  let client: CeleryClient;
  let app: Celery;
  let worker: Worker;

  beforeAll(async () => {
    client = new CeleryClient({ broker: url, backend: url, logger: silentLogger });
    app = new Celery({ broker: url, backend: url, logger: silentLogger });
    worker = new Worker(app, { logger: silentLogger });
    worker.register('add', (args) => (args as number[]).reduce((a, b) => a + b, 0));
    worker.register('tsum', ([values], { plus }) => (values as number[]).reduce((a, b) => a + b, 0) + ((plus as number) ?? 0));
    worker.register('fail', () => {
      throw new ValueError('nope');
    });
    await worker.start();
  });

  afterAll(async () => {
    await worker.stop();
    await app.close();
    await client.close();
  });

  test('apply() resolves a chain to its last result, parents reachable', async () => {
    const result = await client.apply(chain(s('add', 1, 2), s('add', 3), si('add', 100)));
    await expect(result.get(T)).resolves.toBe(100);
    await expect((result.parent as AsyncResult).get(T)).resolves.toBe(6);
  });

  test('apply() resolves a group to a GroupResult; apply$() emits all results in order', async () => {
    const result = await client.apply(group(s('add', 1), s('add', 2), s('add', 3)));
    expect(result).toBeInstanceOf(GroupResult);
    await expect(result.get(T)).resolves.toEqual([1, 2, 3]);
    await expect(lastValueFrom(client.apply$(group(s('add', 4), s('add', 5))).pipe(toArray()))).resolves.toEqual([[4, 5]]);
    await expect(
      firstValueFrom(
        client.apply$(
          chunks(
            'add',
            [
              [1, 1],
              [2, 2],
              [3, 3],
            ],
            2,
          ),
        ),
      ),
    ).resolves.toEqual([[2, 4], [6]]);
  });

  test('apply$() of a group errors with the failing member; of a chord emits the body result', async () => {
    const error = (await firstValueFrom(client.apply$(group(s('add', 1), s('fail')))).catch((e: unknown) => e)) as GroupMemberError;
    expect(error).toBeInstanceOf(GroupMemberError);
    expect(error).toMatchObject({ index: 1, excType: 'ValueError', excMessage: ['nope'] });
    await expect(firstValueFrom(client.apply$(chord([s('add', 1, 1), s('add', 2, 2)], signature('tsum', [], { plus: 10 }))))).resolves.toBe(16);
  });
});

const describeReal = await describeIfAvailable('CeleryClient canvas with a Python worker', 'redis', 'python-celery');

describeReal('CeleryClient canvas with a Python worker (Redis broker and backend)', () => {
  const queue = uniqueName('canvas.nest.py');
  let client: CeleryClient;
  let py: PythonWorker;

  beforeAll(async () => {
    py = await startPythonWorker({ broker: REDIS_URL, backend: REDIS_URL, queue }, ['--include', 'canvas_tasks']);
    client = new CeleryClient({ broker: REDIS_URL, backend: REDIS_URL, taskDefaultQueue: queue, logger: silentLogger });
  }, 40_000);

  afterAll(async () => {
    await py?.stop();
    await client?.close();
    await deleteRedisQueues([queue]);
  });

  test('a native Redis chord run by Python, its body result through apply$()', async () => {
    const header = Array.from({ length: 10 }, (_, i) => s('py.add', i, i));
    await expect(firstValueFrom(client.apply$(chord(header, s('py.tsum'))))).resolves.toBe(90);
  });
});
