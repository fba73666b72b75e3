/**
 * AmqpBroker against real Python Celery / kombu / py-amqp of every peer (5.2, 5.5, 5.6) on the same RabbitMQ:
 * declarations are equivalent both ways (no PRECONDITION_FAILED), and headers and properties
 * survive in both directions (py-amqp reads header tables differently from amqplib).
 * The Python side is test/broker/amqp-interop.py.
 */
import { expect } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { AmqpBroker } from '../../libs/nestjs-celery/src/transport/amqp/amqp.broker.js';
import { AmqpDeclarationError } from '../../libs/nestjs-celery/src/transport/amqp/amqp-errors.js';
import type { QueueDeclaration } from '../../libs/nestjs-celery/src/transport/broker.interface.js';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { peerSuites } from '../support/python.js';
import { AMQP_URL, uniqueName } from '../support/services.js';
import { Admin, Inbox, message, pythonOf } from './amqp-support.js';

const PEERS = await peerSuites('amqp broker interop', 'rabbitmq');

/** One declaration in our terms and in kombu's (Queue/Exchange keyword arguments). */
interface DeclarationCase {
  what: string;
  ours: (name: string) => QueueDeclaration;
  kombu: (name: string) => { queue: Record<string, unknown> };
}

const CASES: DeclarationCase[] = [
  {
    what: "an event receiver queue (topic exchange, '#', TTL and expiry, transient)",
    ours: (name) => ({
      name,
      exchange: `${name}.ev`,
      exchangeType: 'topic',
      routingKey: '#',
      durable: false,
      autoDelete: true,
      arguments: { 'x-message-ttl': 5000, 'x-expires': 60000 },
    }),
    kombu: (name) => ({
      queue: {
        name,
        exchange: { name: `${name}.ev`, type: 'topic', durable: true },
        routing_key: '#',
        durable: false,
        auto_delete: true,
        message_ttl: 5.0,
        expires: 60.0,
      },
    }),
  },
  {
    what: 'an RPC reply queue (no exchange, auto-delete, x-expires)',
    ours: (name) => ({ name, exchange: '', durable: false, autoDelete: true, arguments: { 'x-expires': 86_400_000 } }),
    kombu: (name) => ({ queue: { name, routing_key: name, durable: false, auto_delete: true, expires: 86400.0 } }),
  },
  {
    what: 'a pidbox node queue bound to a transient fanout exchange',
    ours: (name) => ({
      name,
      exchange: `${name}.pidbox`,
      exchangeType: 'fanout',
      exchangeDurable: false,
      routingKey: '',
      durable: false,
      autoDelete: true,
      arguments: { 'x-message-ttl': 300_000, 'x-expires': 10_000 },
    }),
    kombu: (name) => ({
      queue: {
        name,
        exchange: { name: `${name}.pidbox`, type: 'fanout', durable: false },
        routing_key: '',
        durable: false,
        auto_delete: true,
        message_ttl: 300.0,
        expires: 10.0,
      },
    }),
  },
];

/** Headers the way a Celery 5.2 client sends them, plus the values py-amqp and amqplib disagree on. */
function celeryLikeHeaders(id: string) {
  return {
    lang: 'py',
    task: 'proj.tasks.add',
    id,
    shadow: null,
    eta: null,
    expires: null,
    group: null,
    group_index: null,
    retries: 0,
    timelimit: [null, null],
    root_id: id,
    parent_id: null,
    argsrepr: '(2, 2)',
    kwargsrepr: '{}',
    origin: 'gen4242@héllo-host',
    ignore_result: false,
    negative: -5,
    negative_short: -300,
    big: 2 ** 40,
    negative_big: -(2 ** 40),
    float: 0.1,
    nested: { list: [1, -1, null, 'ü', [null, { deep: 255 }]], flag: true },
  };
}

for (const { version, describe: describeInterop } of PEERS)
  describeInterop(`AmqpBroker ⇄ Python Celery ${version}/kombu on RabbitMQ`, () => {
    const python = pythonOf(version);
    let broker: AmqpBroker;
    let admin: Admin;
    const queues: string[] = [];
    const exchanges: string[] = [];
    const q = (prefix = 'amqp-interop') => {
      const name = uniqueName(prefix);
      queues.push(name);
      exchanges.push(name, `${name}.ev`, `${name}.pidbox`);
      return name;
    };

    beforeAll(async () => {
      admin = await Admin.open();
      broker = new AmqpBroker(AMQP_URL, { logger: silentLogger });
      await broker.connect();
    });

    afterAll(async () => {
      await broker.close();
      await admin.deleteQueues(...queues);
      await admin.deleteExchanges(...exchanges);
      await admin.close();
    });

    describe('declarations', () => {
      it('accepts a queue a Celery app declared with task_queue_max_priority, and only with the same arguments', async () => {
        const name = q();
        const declared = await python<{ queue_arguments: Record<string, unknown> }>('declare-celery', name, '10');
        expect(declared.queue_arguments).toEqual({ 'x-max-priority': 10 });
        await broker.declareQueue({ name, arguments: { 'x-max-priority': 10 } });
        await expect(broker.declareQueue({ name })).rejects.toBeInstanceOf(AmqpDeclarationError);
      });

      it('declares a queue that a Celery app then declares the same way', async () => {
        const name = q();
        await broker.declareQueue({ name, arguments: { 'x-max-priority': 10 } });
        await expect(python('declare-celery', name, '10')).resolves.toBeDefined();
        await expect(python('declare-celery', name, '5')).rejects.toThrow(/PRECONDITION_FAILED/);
      });

      for (const c of CASES) {
        it(`agrees with kombu on ${c.what}, in both orders`, async () => {
          const pyFirst = q();
          await python('declare', JSON.stringify(c.kombu(pyFirst)));
          await broker.declareQueue(c.ours(pyFirst));

          const tsFirst = q();
          await broker.declareQueue(c.ours(tsFirst));
          await expect(python('declare', JSON.stringify(c.kombu(tsFirst)))).resolves.toEqual({ ok: true });
        });
      }

      it("agrees with kombu on a transient fanout exchange (Celery's pidbox)", async () => {
        const name = q();
        await broker.declareExchange({ name, type: 'fanout', durable: false });
        await expect(python('declare', JSON.stringify({ exchange: { name, type: 'fanout', durable: false } }))).resolves.toEqual({ ok: true });
      });
    });

    describe('messages', () => {
      it('reads every header and property kombu publishes, including 64-bit ints py-amqp tags "L"', async () => {
        const name = q();
        await broker.declareQueue({ name });
        const inbox = new Inbox();
        await broker.consume([name], { prefetch: 5 }, inbox.push);
        const id = randomUUID();
        const sent = await python<{ headers: Record<string, unknown> }>(
          'publish',
          name,
          JSON.stringify({
            headers: { ...celeryLikeHeaders(id), huge: 2 ** 52, timestamp_ms: 1714567890123 },
            // kombu takes expiration in seconds and writes milliseconds
            properties: { correlation_id: id, reply_to: 'oid-1', priority: 3, expiration: 60 },
          }),
        );
        const [d] = await inbox.count(1, 10_000);
        expect(d.message.headers).toEqual(sent.headers);
        expect(d.message.headers.negative_big).toBe(-(2 ** 40));
        expect(d.message.properties).toEqual({ correlationId: id, replyTo: 'oid-1', priority: 3, expiration: '60000', deliveryMode: 2 });
        expect(d.message).toMatchObject({ contentType: 'application/json', contentEncoding: 'utf-8' });
        await d.ack();
        // the connection survived the "L" values: the broker still works
        await broker.publish(message(), { exchange: '', routingKey: name });
        await inbox.count(2);
      });

      it('reads a task message sent by Celery send_task', async () => {
        const name = q();
        await broker.declareQueue({ name });
        const inbox = new Inbox();
        await broker.consume([name], { prefetch: 1 }, inbox.push);
        const id = randomUUID();
        await python('send-task', name, id);
        const [d] = await inbox.count(1, 10_000);
        expect(d.message.headers).toMatchObject({
          lang: 'py',
          task: 'interop.add',
          id,
          root_id: id,
          retries: 0,
          timelimit: [30, null],
          argsrepr: '(2, 2)',
          'x-extra': [1, null],
        });
        expect(d.message.properties).toMatchObject({ correlationId: id, deliveryMode: 2, priority: 3, replyTo: expect.any(String) });
        expect(JSON.parse(d.message.body.toString())).toEqual([[2, 2], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
        expect(d.deliveryInfo).toMatchObject({ exchange: '', routingKey: name, queue: name });
        await d.ack();
      });

      it('publishes headers that kombu reads back with identical values', async () => {
        const name = q();
        await broker.declareQueue({ name });
        const id = randomUUID();
        const headers = { ...celeryLikeHeaders(id), sparse: [undefined, 1] };
        await broker.publish(
          message({
            headers,
            properties: { correlationId: id, replyTo: 'oid-2', deliveryMode: 2, priority: 7, expiration: '60000' },
          }),
          { exchange: '', routingKey: name },
        );
        const [got] = await python<{ headers: Record<string, unknown>; properties: Record<string, unknown>; body: string }[]>('consume', name, '1');
        expect(got.headers).toEqual(JSON.parse(JSON.stringify(headers)));
        expect(got.headers.negative).toBe(-5); // amqplib's own guess (`b`) reads as 251 in py-amqp
        expect(got.headers.negative_short).toBe(-300); // `s` reads as a short string in py-amqp
        expect(got.properties).toMatchObject({
          content_type: 'application/json',
          content_encoding: 'utf-8',
          correlation_id: id,
          reply_to: 'oid-2',
          delivery_mode: 2,
          priority: 7,
          expiration: '60000',
        });
        expect(JSON.parse(got.body)).toEqual([[2, 2], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
      });
    });
  });
