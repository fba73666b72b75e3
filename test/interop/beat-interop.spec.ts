/**
 * Our beat's messages are ordinary Celery task messages: a Python Celery 5.2, 5.5 and 5.6 worker
 * runs the periodic task our beat sends (over Redis) and stores its result. (Nest workers running
 * what Python's beat sends is the plain send_task path every interop suite covers.)
 * CI time: ~10 s per Celery peer (mostly the Python worker's start).
 */
import { Redis } from 'ioredis';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Beat } from '../../libs/nestjs-celery/src/engine/beat/beat.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { deleteQueues } from '../support/cleanup.js';
import { eventually } from '../support/eventually.js';
import { peerSuites, startPythonWorker, type PythonWorker } from '../support/python.js';
import { REDIS_URL, uniqueName } from '../support/services.js';

const PEERS = await peerSuites('beat with a Python worker', 'redis');

for (const { version, peer, describe: describePeer } of PEERS)
  describePeer(`our beat, a Python Celery ${version} worker (Redis)`, () => {
    const queue = uniqueName('beat.py');
    const key = uniqueName('beat.py');
    let app: Celery;
    let beat: Beat;
    let pyWorker: PythonWorker;

    beforeAll(async () => {
      app = new Celery({ broker: REDIS_URL, backend: REDIS_URL, logger: silentLogger });
      pyWorker = await startPythonWorker({ broker: REDIS_URL, backend: REDIS_URL, queue, peer });
    }, 90_000);

    afterAll(async () => {
      await beat?.stop();
      await pyWorker?.stop();
      await app?.close();
      await deleteQueues(REDIS_URL, [queue]);
      const redis = new Redis(REDIS_URL);
      await redis.del(`${key}:lock`, `${key}:fence`, `${key}:state`);
      redis.disconnect();
    }, 60_000);

    test('py.add every second: each run is a task the Python worker runs, with its own id', async () => {
      beat = new Beat(app, {
        key,
        lockTimeoutMs: 1500,
        logger: silentLogger,
        schedule: { add: { task: 'py.add', schedule: { every: 1 }, args: [2, 3], options: { queue } } },
      });
      await beat.start();
      const ids: string[] = [];
      await eventually(
        () => {
          const state = beat.entryState('add');
          if (state?.sent && state.id && !ids.includes(state.id)) ids.push(state.id);
          return ids.length >= 2;
        },
        'two runs sent',
        60_000,
      );
      for (const id of ids) expect(await app.asyncResult(id).get({ timeout: 30_000 })).toBe(5);
    }, 120_000);
  });
