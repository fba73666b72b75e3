/**
 * 100 MiB task messages against real Python Celery over {RabbitMQ, Redis} × {Redis, RPC}, per
 * Celery peer: Python client → our worker and our client → Python worker (`py.digest`), one
 * message each way per cell. RabbitMQ 3.x takes up to 128 MiB by default (max_message_size);
 * RabbitMQ 4.x only 16 MiB unless configured: its test node is configured for 256 MiB
 * (scripts/interop/rabbitmq4.sh), and each peer gets one RabbitMQ 4.x cell with the Redis backend
 * (on the deny-all node where the peer runs there, the permissive one otherwise).
 */
import { createHash } from 'node:crypto';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { recordingLogger } from '../broker/redis-support.js';
import { deleteQueues } from '../support/cleanup.js';
import { amqp4UrlFor } from '../support/peers.js';

import { celeryPeers, runPython, startPythonWorker, type PythonEnv, type PythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

const describeInterop = await describeIfAvailable(
  '100 MiB messages with Python Celery',
  'redis',
  'rabbitmq',
  'rabbitmq4',
  'rabbitmq4-permissive',
  'python-celery',
);

const MIB = 1024 * 1024;
const SIZE = 100 * MIB;
const BROKERS = { rabbitmq: AMQP_URL, redis: REDIS_URL } as const;
const BACKENDS = { redis: REDIS_URL, rpc: 'rpc://' } as const;
const PEERS = celeryPeers();
type BrokerName = keyof typeof BROKERS | 'rabbitmq4';
const MATRIX = PEERS.flatMap((peer) => [
  ...(Object.keys(BROKERS) as (keyof typeof BROKERS)[]).flatMap((b) =>
    (Object.keys(BACKENDS) as (keyof typeof BACKENDS)[]).map((r) => [peer.version, b as BrokerName, r, peer] as const),
  ),
  [peer.version, 'rabbitmq4', 'redis' as const, peer] as const,
]);

const digest = (data: string) => ({ length: data.length, sha256: createHash('sha256').update(data).digest('hex') });

describeInterop.each(MATRIX)('100 MiB messages: Celery %s, %s broker, %s backend', (_version, brokerName, backendName, peer) => {
  const brokerUrl = brokerName === 'rabbitmq4' ? amqp4UrlFor(peer.version, BACKENDS[backendName]) : BROKERS[brokerName];
  const backendUrl = BACKENDS[backendName];
  const nodeQueue = uniqueName('large.node');
  const pyQueue = uniqueName('large.py');
  const toNode: PythonEnv = { broker: brokerUrl, backend: backendUrl, queue: nodeQueue, peer: peer.peer };
  const toPy: PythonEnv = { broker: brokerUrl, backend: backendUrl, queue: pyQueue, peer: peer.peer };
  let app: Celery;
  let worker: Worker;
  let pyWorker: PythonWorker;
  // kept, not printed: a failure shows what each side said (a healthy cell takes seconds, a lost reply the whole timeout)
  const logger = recordingLogger();
  const tail = (text: string) => text.split('\n').slice(-40).join('\n');

  beforeAll(async () => {
    app = new Celery({ broker: brokerUrl, backend: backendUrl, logger });
    worker = new Worker(app, { queues: [nodeQueue], logger, concurrency: 2 });
    worker.register('node.digest', ([data]) => digest(data as string), { params: ['data'] });
    await worker.start();
    pyWorker = await startPythonWorker(toPy);
  }, 60_000);

  afterAll(async () => {
    await pyWorker?.stop();
    await worker?.stop();
    await app?.close();
    await deleteQueues(brokerUrl, [nodeQueue, pyQueue]);
  }, 60_000);

  test('Python send_task of a 100 MiB argument → our worker runs it', async () => {
    // the Python side builds the argument itself (no 100 MiB through stdin) and reports the digest it expects
    const out = await runPython<{ got: unknown; expected: unknown }>('large_client.py', toNode, null, ['node.digest', String(SIZE), '240'], 300_000);
    if (JSON.stringify(out.got) !== JSON.stringify(out.expected)) {
      throw new Error(`Python got ${JSON.stringify(out.got)}, expected ${JSON.stringify(out.expected)}\nour worker's log:\n${tail(logger.lines.join('\n'))}`);
    }
    expect(out.expected).toMatchObject({ length: SIZE });
  }, 330_000);

  test('our sendTask of a 100 MiB argument → the Python worker runs it', async () => {
    const data = '0123456789abcdef'.repeat(SIZE / 16);
    const result = await app.sendTask('py.digest', [data], {}, { queue: pyQueue });
    const got = await result.get({ timeout: 240_000 }).catch((error: Error) => {
      throw new Error(`${error.message}\nPython worker's output:\n${tail(pyWorker.output())}\nour log:\n${tail(logger.lines.join('\n'))}`);
    });
    expect(got).toEqual(digest(data));
  }, 300_000);
});
