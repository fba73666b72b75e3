import { execFileSync } from 'node:child_process';
import { lastValueFrom, timeout, toArray } from 'rxjs';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { loads } from '../../libs/nestjs-celery/src/protocol/json.js';
import type { ResultMeta } from '../../libs/nestjs-celery/src/protocol/result-meta.js';
import { AmqpBroker } from '../../libs/nestjs-celery/src/transport/amqp/amqp.broker.js';
import type { Broker, Delivery } from '../../libs/nestjs-celery/src/transport/broker.interface.js';
import { RedisBroker } from '../../libs/nestjs-celery/src/transport/redis/broker/redis.broker.js';
import { RpcBackend } from '../../libs/nestjs-celery/src/transport/rpc/rpc.backend.js';
import { deleteQueues } from '../support/cleanup.js';
import { AMQP_URL, describeIfAvailable, REDIS_URL, uniqueName, type ServiceName } from '../support/services.js';
import { runPeer, startPeer, type PeerOutcome } from './backend-peer.js';
import { resultMeta, valueError } from './result-metas.js';

interface Variant {
  kind: string;
  url: string;
  service: ServiceName;
  make(): Broker;
}

const variants: Variant[] = [
  { kind: 'amqp', url: AMQP_URL, service: 'rabbitmq', make: () => new AmqpBroker(AMQP_URL, { logger: silentLogger }) },
  { kind: 'redis', url: REDIS_URL, service: 'redis', make: () => new RedisBroker(REDIS_URL, { logger: silentLogger }) },
];

const collect = (backend: RpcBackend, id: string, ms = 30_000) => lastValueFrom(backend.watch(id).pipe(timeout(ms), toArray()));
const statuses = (metas: ResultMeta[]) => metas.map((m) => m.status);

/** The next delivery on `queue`, consumed without ack. */
async function nextDelivery(broker: Broker, queue: string): Promise<Delivery> {
  let resolve!: (d: Delivery) => void;
  const got = new Promise<Delivery>((r) => (resolve = r));
  const consumer = await broker.consume([queue], { prefetch: 0, noAck: true }, resolve);
  const d = await got;
  await consumer.cancel();
  return d;
}

for (const v of variants) {
  const describeBroker = await describeIfAvailable(`rpc result backend over ${v.kind}`, v.service);
  const describeInterop = await describeIfAvailable(`rpc result backend over ${v.kind} ↔ python celery`, v.service, 'python-celery');
  const queues: string[] = [];

  describeBroker(`RpcBackend over ${v.kind}`, () => {
    let broker: Broker;
    let client: RpcBackend;
    let worker: RpcBackend;

    beforeEach(async () => {
      broker = v.make();
      await broker.connect();
      client = new RpcBackend(broker, { logger: silentLogger });
      worker = new RpcBackend(broker, { logger: silentLogger });
      await Promise.all([client.connect(), worker.connect()]);
    });
    afterEach(async () => {
      await Promise.all([client.close(), worker.close()]);
      await broker.close();
    });
    afterAll(async () => {
      if (queues.length) await deleteQueues(v.url, queues);
    });

    const reply = (id: string, status: string, result: unknown, extra: { correlationId?: string } = {}) =>
      worker.store(resultMeta(id, status, result), { taskId: id, replyTo: client.oid, correlationId: extra.correlationId ?? id });

    it('store → watch: intermediate states in order, completes on the ready state', async () => {
      const id = uniqueName('rpc');
      await client.onTaskCall(id);
      const seen = collect(client, id);
      await reply(id, 'STARTED', { pid: 1 });
      await reply(id, 'PROGRESS', { current: 1 });
      await reply(id, 'RETRY', valueError('again'));
      await reply(id, 'SUCCESS', 'done');
      const metas = await seen;
      expect(statuses(metas)).toEqual(['STARTED', 'PROGRESS', 'RETRY', 'SUCCESS']);
      expect(metas.map((m) => m.result)).toEqual([{ pid: 1 }, { current: 1 }, valueError('again'), 'done']);
      expect(metas[3].task_id).toBe(id);
    });

    it('replies are matched by correlation_id (body task_id as fallback); the latest state wins', async () => {
      const [a, b, c] = [uniqueName('rpc-a'), uniqueName('rpc-b'), uniqueName('rpc-c')];
      await client.onTaskCall(a);
      await reply(a, 'STARTED', null);
      await reply(b, 'SUCCESS', 'for b');
      await reply(a, 'SUCCESS', 'for a');
      // a reply correlated to a different id than its body's task_id belongs to the correlation id
      await worker.store(resultMeta(c, 'SUCCESS', 'corr'), { taskId: c, replyTo: client.oid, correlationId: 'corr-' + c });
      // an old-style reply without correlation_id: the body's task_id decides
      await broker.publish(
        {
          body: Buffer.from(JSON.stringify({ task_id: c, status: 'FAILURE', result: valueError('x'), traceback: null, children: [] })),
          contentType: 'application/json',
          contentEncoding: 'utf-8',
          headers: {},
          properties: { deliveryMode: 1 },
        },
        { exchange: '', routingKey: client.oid },
      );
      // the last reply sent: once it is in, every earlier one is (one queue, in order)
      expect((await collect(client, c))[0].status).toBe('FAILURE');
      expect(statuses(await collect(client, a))).toEqual(['SUCCESS']);
      expect((await collect(client, b))[0].result).toBe('for b');
      expect((await collect(client, 'corr-' + c))[0].result).toBe('corr');
      expect((await client.get(a))?.result).toBe('for a');
      await client.forget(a);
      expect(await client.get(a)).toBeUndefined();
    });

    it('a reply is a transient JSON message with exactly the keys of RPCBackend._to_result', async () => {
      const q = uniqueName('rpc-probe');
      queues.push(q);
      await broker.declareQueue({ name: q, exchange: '', durable: false, autoDelete: false });
      const persistent = new RpcBackend(broker, { logger: silentLogger, persistent: true });
      const meta = resultMeta('t-1', 'SUCCESS', [1, 2], { group_id: 'g', parent_id: 'p' });
      const transient = nextDelivery(broker, q);
      await worker.store(meta, { taskId: 't-1', replyTo: q, correlationId: 'c-1' });
      const d1 = await transient;
      const durable = nextDelivery(broker, q);
      await persistent.store(meta, { taskId: 't-1', replyTo: q });
      const d2 = await durable;
      expect(Object.keys(loads(d1.message.body.toString()) as object)).toEqual(['task_id', 'status', 'result', 'traceback', 'children']);
      expect(loads(d1.message.body.toString())).toEqual({ task_id: 't-1', status: 'SUCCESS', result: [1, 2], traceback: null, children: [] });
      expect(d1.message.contentType).toBe('application/json');
      expect(d1.message.properties).toEqual(expect.objectContaining({ correlationId: 'c-1', deliveryMode: 1 }));
      expect(d2.message.properties).toEqual(expect.objectContaining({ correlationId: 't-1', deliveryMode: 2 }));
      await persistent.close();
    });

    it('without reply_to nothing is sent (debug line instead)', async () => {
      const id = uniqueName('rpc-none');
      const debug: string[] = [];
      const quiet = new RpcBackend(broker, { logger: { ...silentLogger, debug: (m: string) => debug.push(m) } });
      await client.onTaskCall(id);
      const seen = collect(client, id);
      await quiet.store(resultMeta(id, 'STARTED', null), { taskId: id, replyTo: null });
      await reply(id, 'SUCCESS', 1);
      expect(statuses(await seen)).toEqual(['SUCCESS']);
      expect(debug).toEqual([expect.stringContaining(`task ${id} has no reply_to`)]);
      await quiet.close();
    });

    if (v.kind === 'amqp') {
      it('declares the reply queue only when a result is awaited, exactly as Celery since its RabbitMQ 4.3 fix (x-expires, auto_delete, durable)', async () => {
        const listed = () =>
          execFileSync('rabbitmqctl', ['list_queues', 'name', 'arguments', 'auto_delete', 'durable', '--quiet'], { encoding: 'utf8' })
            .split('\n')
            .map((l) => l.split('\t'));
        const custom = new RpcBackend(broker, { logger: silentLogger, resultExpiresSeconds: 60 });
        await worker.store(resultMeta('x', 'SUCCESS', 1), { taskId: 'x', replyTo: uniqueName('nobody') });
        await client.onTaskCall('t');
        await custom.onTaskCall('t');
        const rows = listed();
        expect(rows.find((r) => r[0] === worker.oid)).toBeUndefined(); // store() alone creates no queue
        expect(rows.find((r) => r[0] === client.oid)?.slice(1)).toEqual(['[{"x-expires",86400000}]', 'true', 'true']);
        expect(rows.find((r) => r[0] === custom.oid)?.slice(1)).toEqual(['[{"x-expires",60000}]', 'true', 'true']);
        await custom.close();
      });
    }
  });

  describeInterop(`RpcBackend over ${v.kind} ↔ Python Celery 5.2 (rpc://)`, () => {
    let broker: Broker;
    let backend: RpcBackend;
    const py = { backend: 'rpc://', broker: v.url };

    beforeAll(async () => {
      broker = v.make();
      await broker.connect();
      backend = new RpcBackend(broker, { logger: silentLogger });
    });
    afterAll(async () => {
      await backend.close();
      await broker.close();
      if (queues.length) await deleteQueues(v.url, queues);
    });

    it("a Python client's AsyncResult.get() receives what our worker side sends to its reply_to", async () => {
      const queue = uniqueName('rpc-py-tasks');
      queues.push(queue);
      const [okId, failId] = [uniqueName('py-ok'), uniqueName('py-fail')];
      const ok = startPeer<PeerOutcome>({ action: 'send', ...py, queue, task: 'remote.add', id: okId, args: [2, 3], timeout: 15 });
      const fail = startPeer<PeerOutcome>({ action: 'send', ...py, queue, task: 'remote.add', id: failId, timeout: 15 });
      await Promise.all([ok.nextLine(), fail.nextLine()]); // both sent their task
      // act as the worker: take the reply_to and correlation_id from the task messages themselves
      const seen = new Map<string, Delivery>();
      let all!: () => void;
      const bothSeen = new Promise<void>((r) => (all = r));
      const consumer = await broker.consume([queue], { prefetch: 0, noAck: true }, (d) => {
        seen.set(d.message.headers.id as string, d);
        if (seen.size === 2) all();
      });
      await bothSeen;
      await consumer.cancel();
      const target = (id: string) => ({
        taskId: id,
        replyTo: seen.get(id)!.message.properties.replyTo,
        correlationId: seen.get(id)!.message.properties.correlationId,
      });
      expect(target(okId).replyTo).toMatch(/^[0-9a-f-]{36}$/);
      await backend.store(resultMeta(okId, 'STARTED', { pid: 1 }), target(okId));
      await backend.store(resultMeta(okId, 'SUCCESS', 5), target(okId));
      await backend.store(resultMeta(failId, 'FAILURE', valueError('bad input'), { traceback: 'Traceback...' }), target(failId));
      expect(await ok.done).toEqual({ state: 'SUCCESS', value: 5 });
      expect(await fail.done).toEqual(expect.objectContaining({ state: 'FAILURE', error_type: 'ValueError', is_value_error: true, args: ['bad input'] }));
    });

    it('our watch sees what Python stores with the rpc backend to our oid', async () => {
      const id = uniqueName('py-store');
      await backend.onTaskCall(id);
      const seen = collect(backend, id, 15_000);
      const request = { reply_to: backend.oid, correlation_id: id };
      await runPeer({
        action: 'store',
        ...py,
        items: [
          { id, state: 'STARTED', result: { pid: 9 }, request },
          { id, state: 'SUCCESS', result: { answer: 42 }, request },
        ],
      });
      const metas = await seen;
      expect(statuses(metas)).toEqual(['STARTED', 'SUCCESS']);
      expect(metas[1]).toEqual(expect.objectContaining({ task_id: id, result: { answer: 42 }, traceback: null }));
    });
  });
}
