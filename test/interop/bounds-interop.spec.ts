/**
 * Bounds against real Python Celery 5.2, 5.5 and 5.6 (issue 12): a Python client sends messages over our
 * worker's bounds (a zlib body inflating past maxDecompressedBytes, a YAML alias bomb PyYAML
 * writes for a shared structure, an over-long task name) and reads back the FAILURE each one
 * got, then a normal task's SUCCESS from the same worker, on RabbitMQ and Redis.
 */
import type { CeleryLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { deleteQueues } from '../support/cleanup.js';
import { peerSuites, runPython, type PythonEnv } from '../support/python.js';
import { AMQP_URL, REDIS_URL, uniqueName } from '../support/services.js';

const PEERS = await peerSuites('bounds interop with Python Celery', 'redis', 'rabbitmq');

interface Outcome {
  state: string;
  result: unknown;
  exc_type: string | null;
  exc_module: string | null;
}

for (const { version, peer, describe: describeInterop } of PEERS)
  describeInterop.each([
    ['rabbitmq', AMQP_URL],
    ['redis', REDIS_URL],
  ])(`bounds × Python Celery ${version} client: %s broker, Redis results`, (name, brokerUrl) => {
    const queue = uniqueName(`bounds.py.${name}`);
    const env: PythonEnv = { broker: brokerUrl, backend: REDIS_URL, queue, peer };
    const lines: string[] = [];
    const logger: CeleryLogger = { log() {}, debug() {}, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
    let app: Celery;
    let worker: Worker;

    beforeAll(async () => {
      app = new Celery({ broker: brokerUrl, backend: REDIS_URL, logger, acceptContent: ['json', 'yaml'] });
      worker = new Worker(app, { queues: [queue], logger, concurrency: 4 });
      worker.register('node.ok', ([value]) => (typeof value === 'string' ? value.slice(0, 10) : 'other'));
      await worker.start();
    }, 60_000);
    afterAll(async () => {
      await worker?.stop();
      await app?.close();
      await deleteQueues(brokerUrl, [queue]);
    }, 60_000);

    test('each bomb gets a FAILURE Python reads, with one log line naming the bound; the next task succeeds', async () => {
      const out = await runPython<Record<string, Outcome>>('bounds_client.py', env, [], [], 120_000);
      expect(out.zlib_bomb).toMatchObject({ state: 'FAILURE', exc_type: 'MessageTooLarge' });
      expect(out.yaml_bomb).toMatchObject({ state: 'FAILURE', exc_type: 'DecodeError', exc_module: 'kombu.exceptions' });
      expect(out.long_name).toMatchObject({ state: 'FAILURE', exc_type: 'InvalidTaskError', exc_module: 'celery.exceptions' });
      expect(out.ok).toMatchObject({ state: 'SUCCESS', result: 'fine' });
      const refusals = lines.filter((l) => l.includes('rejected message'));
      expect(refusals).toHaveLength(3);
      expect(refusals.join('\n')).toMatch(/maxDecompressedBytes|exceeds the limit of 16777216 bytes/);
      expect(refusals.join('\n')).toMatch(/maxYamlNodes/);
      expect(refusals.join('\n')).toMatch(/maxTaskNameLength/);
    }, 180_000);
  });
