/**
 * AmqpBroker against the real RabbitMQ: declare/publish/consume, settlement, prefetch,
 * priorities, confirms, close, and recovery after the server closes the connection.
 * Interop with Python Celery/kombu lives in amqp-interop.spec.ts.
 */
import { expect, jest } from '@jest/globals';
import { connect as amqpConnect, type Channel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { filter, firstValueFrom } from 'rxjs';
import { AmqpBroker } from '../../libs/nestjs-celery/src/transport/amqp/amqp.broker.js';
import {
  AmqpBrokerClosedError,
  AmqpConnectionError,
  AmqpDeclarationError,
  AmqpPublishError,
  UnroutableMessageError,
} from '../../libs/nestjs-celery/src/transport/amqp/amqp-errors.js';
import type { Consumer, Delivery } from '../../libs/nestjs-celery/src/transport/broker.interface.js';
import type { ConnectionStatus } from '../../libs/nestjs-celery/src/transport/connection-status.js';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { AMQP_URL, describeIfAvailable, uniqueName } from '../support/services.js';
import { Admin, closeConnectionNamed, Inbox, message, sleep } from './amqp-support.js';

const describeAmqp = await describeIfAvailable('amqp broker', 'rabbitmq');

describeAmqp('AmqpBroker (RabbitMQ)', () => {
  let broker: AmqpBroker;
  let admin: Admin;
  const queues: string[] = [];
  const exchanges: string[] = [];
  const brokers: AmqpBroker[] = [];

  /** a queue name for this test, deleted (with its exchange) after the suite */
  const q = (prefix = 'amqp-test') => {
    const name = uniqueName(prefix);
    queues.push(name);
    exchanges.push(name);
    return name;
  };
  const newBroker = (url: string | string[] = AMQP_URL, options = {}) => {
    const b = new AmqpBroker(url, { logger: silentLogger, ...options });
    brokers.push(b);
    return b;
  };
  /** `count` messages published to a new queue and all delivered to a new broker's consumer (prefetch = count), none settled */
  const heldDeliveries = async (count: number) => {
    const name = q();
    const own = newBroker();
    await own.connect();
    await own.declareQueue({ name });
    for (let i = 0; i < count; i++) await own.publish(message({ headers: { i } }), { exchange: '', routingKey: name });
    const inbox = new Inbox();
    await own.consume([name], { prefetch: count }, inbox.push);
    return { name, own, delivered: await inbox.count(count) };
  };

  beforeAll(async () => {
    admin = await Admin.open();
    broker = newBroker();
    await broker.connect();
  });

  afterAll(async () => {
    await Promise.all(brokers.map((b) => b.close()));
    await admin.deleteQueues(...queues);
    await admin.deleteExchanges(...exchanges);
    await admin.close();
  });

  it('round-trips body, every header and every property through the default exchange', async () => {
    const name = q();
    await broker.declareQueue({ name });
    const inbox = new Inbox();
    await broker.consume([name], { prefetch: 10 }, inbox.push);

    const headers = {
      lang: 'py',
      task: 'proj.add',
      id: randomUUID(),
      shadow: null,
      timelimit: [null, null],
      retries: 0,
      group_index: 3,
      negative: -5,
      negative_short: -300,
      int32_edge: 2147483647,
      big: 2 ** 40,
      negative_big: -(2 ** 40),
      float: 1.5,
      negative_float: -0.25,
      yes: true,
      no: false,
      unicode: 'héllo ✓ 日本',
      nested: { list: [1, -1, null, 'x', [null, { deep: -2 }]], empty: {} },
      binary: Buffer.from([0, 1, 254, 255]),
    };
    const body = Buffer.from(JSON.stringify([[1, 2], { k: 'v' }, {}]));
    const properties = {
      correlationId: headers.id,
      replyTo: 'reply.queue',
      deliveryMode: 2 as const,
      priority: 4,
      expiration: '60000',
      messageId: 'mid-1',
      timestamp: 1714567890,
      type: 'task',
      userId: 'guest', // RabbitMQ checks it against the connection's user
      appId: 'nestjs-celery-test',
    };
    await broker.publish(
      message({
        body,
        headers,
        properties: { ...properties },
      }),
      { exchange: '', routingKey: name },
    );

    const [d] = await inbox.count(1);
    expect(d.message.body.equals(body)).toBe(true);
    expect(d.message.contentType).toBe('application/json');
    expect(d.message.contentEncoding).toBe('utf-8');
    expect(d.message.headers).toEqual(headers);
    expect(d.message.properties).toEqual(properties);
    expect(d.deliveryInfo).toEqual({ exchange: '', routingKey: name, queue: name, redelivered: false, deliveryTag: expect.any(Number) });
    await d.ack();
  });

  it('writes undefined inside header arrays as null and drops undefined keys', async () => {
    const name = q();
    await broker.declareQueue({ name });
    const inbox = new Inbox();
    await broker.consume([name], { prefetch: 1 }, inbox.push);
    await broker.publish(message({ headers: { limits: [undefined, 5], gone: undefined } }), { exchange: '', routingKey: name });
    const [d] = await inbox.count(1);
    expect(d.message.headers).toEqual({ limits: [null, 5] });
    await d.ack();
  });

  it('routes through the queue-named direct exchange it declared with the queue', async () => {
    const name = q();
    await broker.declareQueue({ name });
    const inbox = new Inbox();
    await broker.consume([name], { prefetch: 1 }, inbox.push);
    await broker.publish(message(), { exchange: name, routingKey: name });
    const [d] = await inbox.count(1);
    expect(d.deliveryInfo).toMatchObject({ exchange: name, routingKey: name, queue: name });
    await d.ack();
  });

  it('holds at most `prefetch` unsettled deliveries and sends the next one after an ack', async () => {
    const name = q();
    await broker.declareQueue({ name });
    for (let i = 0; i < 5; i++) await broker.publish(message({ headers: { i } }), { exchange: '', routingKey: name });
    const inbox = new Inbox();
    await broker.consume([name], { prefetch: 2 }, inbox.push);
    await inbox.count(2);
    await sleep(200);
    expect(inbox.received).toHaveLength(2);
    await inbox.received[0].ack();
    await inbox.count(3);
    await sleep(200);
    expect(inbox.received.map((d) => d.message.headers.i)).toEqual([0, 1, 2]);
  });

  it('gives each queue of a consumer its own per-consumer window (no global QoS: RabbitMQ 4.3 and quorum queues refuse it)', async () => {
    const a = q();
    const b = q();
    await broker.declareQueue({ name: a });
    await broker.declareQueue({ name: b });
    for (let i = 0; i < 3; i++) {
      await broker.publish(message(), { exchange: '', routingKey: a });
      await broker.publish(message(), { exchange: '', routingKey: b });
    }
    const inbox = new Inbox();
    await broker.consume([a, b], { prefetch: 2 }, inbox.push);
    await inbox.count(4);
    await sleep(250);
    expect(inbox.received).toHaveLength(4);
  });

  it('redelivers after reject(requeue=true) with redelivered=true, and drops after reject(false)', async () => {
    const name = q();
    await broker.declareQueue({ name });
    const inbox = new Inbox();
    await broker.consume([name], { prefetch: 1 }, inbox.push);
    await broker.publish(message({ headers: { n: 1 } }), { exchange: '', routingKey: name });
    const [first] = await inbox.count(1);
    expect(first.deliveryInfo.redelivered).toBe(false);
    await first.reject(true);
    await first.reject(true); // idempotent: settling twice would close the channel
    await first.ack();
    const [, again] = await inbox.count(2);
    expect(again.deliveryInfo.redelivered).toBe(true);
    expect(again.message.headers).toEqual({ n: 1 });
    await again.reject(false);
    await sleep(200);
    expect(inbox.received).toHaveLength(2);
    expect(await admin.messageCount(name)).toBe(0);
  });

  it('coalesces acks (one multiple-ack below the oldest held delivery) without acking what is still held', async () => {
    const { name, own, delivered } = await heldDeliveries(30);
    // ack all but #10 and #20 in one turn; acks queued before close() still reach RabbitMQ
    delivered.forEach((d, i) => i !== 10 && i !== 20 && void d.ack());
    await sleep(100);
    await delivered[20].ack();
    await sleep(100);
    await own.close();
    // only the one never settled (#10) comes back; nothing acked was redelivered or lost
    expect(await admin.messageCount(name)).toBe(1);
    const again = new Inbox();
    const reader = newBroker();
    await reader.connect();
    await reader.consume([name], { prefetch: 5 }, again.push);
    const [back] = await again.count(1);
    expect(back.message.headers.i).toBe(10);
    expect(back.deliveryInfo.redelivered).toBe(true);
    await back.ack();
  });

  it('hands the acks settled together to RabbitMQ as one frame in the same turn, not at its end', async () => {
    const { name, own, delivered } = await heldDeliveries(6);
    // every channel amqplib makes shares this prototype: watch what the consumer's channel is asked to send
    const probe = await amqpConnect(AMQP_URL);
    const channelProto = Object.getPrototypeOf(await probe.createChannel()) as Channel;
    await probe.close();
    const sent = jest.spyOn(channelProto, 'ack');
    try {
      let turnEnded = false;
      setImmediate(() => (turnEnded = true));
      for (const d of delivered.slice(0, 4)) void d.ack();
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      expect(turnEnded).toBe(false);
      // #0-#3 in one `multiple` ack up to #3's tag; #4 and #5 are still held, so not covered
      expect(sent.mock.calls.map(([m, multiple]) => [m.fields.deliveryTag, multiple])).toEqual([[delivered[3].deliveryInfo.deliveryTag, true]]);
      // a tag above one still held goes alone, so the held one (#4) is not acked with it
      void delivered[5].ack();
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      expect(sent.mock.calls.slice(1).map(([m, multiple]) => [m.fields.deliveryTag, multiple ?? false])).toEqual([
        [delivered[5].deliveryInfo.deliveryTag, false],
      ]);
    } finally {
      sent.mockRestore();
    }
    // settled before close(): its ack is sent ahead of the channel close, no wait needed
    await delivered[4].ack();
    await own.close();
    // every ack reached RabbitMQ: nothing comes back when the channel closes
    expect(await admin.messageCount(name)).toBe(0);
  });

  it('returns unsettled deliveries to the queue on close()', async () => {
    const name = q();
    const own = newBroker();
    await own.connect();
    await own.declareQueue({ name });
    for (let i = 0; i < 3; i++) await own.publish(message(), { exchange: '', routingKey: name });
    const inbox = new Inbox();
    await own.consume([name], { prefetch: 10 }, inbox.push);
    const delivered = await inbox.count(3);
    await delivered[0].ack();
    expect(await admin.messageCount(name)).toBe(0);

    const statuses: ConnectionStatus[] = [];
    own.status$.subscribe((s) => statuses.push(s));
    await own.close();
    expect(statuses.at(-1)).toBe('closed');
    expect(await admin.messageCount(name)).toBe(2);
    // settling after close is a quiet no-op
    await expect(delivered[1].ack()).resolves.toBeUndefined();
    await expect(own.publish(message(), { exchange: '', routingKey: name })).rejects.toBeInstanceOf(AmqpBrokerClosedError);
  });

  it('confirms publishes, rejects unroutable mandatory ones and survives a missing exchange', async () => {
    const name = q();
    await broker.declareQueue({ name });
    await Promise.all(Array.from({ length: 50 }, () => broker.publish(message(), { exchange: '', routingKey: name })));
    expect(await admin.messageCount(name)).toBe(50);

    const unroutable = broker.publish(message(), { exchange: '', routingKey: uniqueName('nobody'), mandatory: true });
    await expect(unroutable).rejects.toBeInstanceOf(UnroutableMessageError);
    await expect(unroutable).rejects.toThrow(/NO_ROUTE.*declare the queue/);
    // a non-mandatory publish nobody receives is confirmed, as in Celery
    await expect(broker.publish(message(), { exchange: '', routingKey: uniqueName('nobody') })).resolves.toBeUndefined();

    const missing = broker.publish(message(), { exchange: uniqueName('no-such-exchange'), routingKey: name });
    await expect(missing).rejects.toBeInstanceOf(AmqpPublishError);
    await expect(missing).rejects.toThrow(/NOT_FOUND/);
    await broker.publish(message(), { exchange: '', routingKey: name });
    expect(await admin.messageCount(name)).toBe(51);
  });

  it('with confirmPublish: false resolves publishes once written on a channel not in confirm mode, logs a channel RabbitMQ closes under them, and still confirms mandatory ones', async () => {
    const errors: string[] = [];
    const logger = { ...silentLogger, warn: (m: string) => errors.push(m), error: (m: string) => errors.push(m) };
    const own = newBroker(AMQP_URL, { confirmPublish: false, logger });
    await own.connect();
    const name = q();
    await own.declareQueue({ name });
    await Promise.all(Array.from({ length: 2000 }, () => own.publish(message(), { exchange: '', routingKey: name })));
    // nothing waited for RabbitMQ, so the last ones may still be on their way into the queue
    for (let i = 0; i < 50 && (await admin.messageCount(name)) < 2000; i++) await sleep(100);
    expect(await admin.messageCount(name)).toBe(2000);

    // a mandatory publish still waits for its confirm, so a return reaches the sender
    const unroutable = own.publish(message(), { exchange: '', routingKey: uniqueName('nobody'), mandatory: true });
    await expect(unroutable).rejects.toBeInstanceOf(UnroutableMessageError);

    // Celery without confirm_publish: the sender is not told, the loss is logged (by the plain
    // channel's handler: the unconfirmed publish did not go on the confirm channel), the broker goes on
    await expect(own.publish(message(), { exchange: uniqueName('no-such-exchange'), routingKey: name })).resolves.toBeUndefined();
    const lossLogged = (e: string) =>
      /sent without waiting for a confirm \(confirmPublish: false\) may be lost: RabbitMQ closed their channel.*NOT_FOUND/.test(e);
    for (let i = 0; i < 50 && !errors.some(lossLogged); i++) await sleep(100);
    expect(errors.some(lossLogged)).toBe(true);
    await own.publish(message(), { exchange: '', routingKey: name });
    for (let i = 0; i < 50 && (await admin.messageCount(name)) < 2001; i++) await sleep(100);
    expect(await admin.messageCount(name)).toBe(2001);
  });

  it('delivers higher priorities first on an x-max-priority queue', async () => {
    const name = q();
    await broker.declareQueue({ name, arguments: { 'x-max-priority': 10 } });
    for (const priority of [1, 9, 5, 0]) {
      await broker.publish(message({ headers: { priority }, properties: { priority } }), { exchange: '', routingKey: name });
    }
    const inbox = new Inbox();
    await broker.consume([name], { prefetch: 1 }, (d) => {
      inbox.push(d);
      void d.ack();
    });
    const got = await inbox.count(4);
    expect(got.map((d) => d.message.headers.priority)).toEqual([9, 5, 1, 0]);
  });

  it('refuses a conflicting redeclaration with a typed error and keeps working', async () => {
    const name = q();
    await broker.declareQueue({ name, arguments: { 'x-max-priority': 10 } });
    await broker.declareQueue({ name, arguments: { 'x-max-priority': 10 } });
    const conflicting = broker.declareQueue({ name });
    await expect(conflicting).rejects.toBeInstanceOf(AmqpDeclarationError);
    await expect(conflicting).rejects.toMatchObject({ replyCode: 406, message: expect.stringMatching(/x-max-priority.*declare it exactly/) });
    await broker.declareQueue({ name, arguments: { 'x-max-priority': 10 } });
    await broker.publish(message(), { exchange: '', routingKey: name });
    expect(await admin.messageCount(name)).toBe(1);
  });

  it('declares exchange-less (RPC reply) queues and consumes them with noAck', async () => {
    const name = q('amqp-reply');
    await broker.declareQueue({ name, exchange: '', durable: false, autoDelete: true, arguments: { 'x-expires': 86_400_000 } });
    const inbox = new Inbox();
    await broker.consume([name], { prefetch: 0, noAck: true }, inbox.push);
    await broker.publish(message({ properties: { deliveryMode: 1, correlationId: 't1' } }), { exchange: '', routingKey: name });
    const [d] = await inbox.count(1);
    expect(d.message.properties.correlationId).toBe('t1');
    await d.ack(); // no-op for noAck deliveries
    expect(await admin.messageCount(name)).toBe(0);
  });

  it('stops delivering after cancel() but keeps handed-out deliveries settleable', async () => {
    const name = q();
    await broker.declareQueue({ name });
    const inbox = new Inbox();
    const consumer = await broker.consume([name], { prefetch: 1 }, inbox.push);
    await broker.publish(message(), { exchange: '', routingKey: name });
    await broker.publish(message(), { exchange: '', routingKey: name });
    const [d] = await inbox.count(1);
    await consumer.cancel();
    await d.ack();
    await sleep(200);
    expect(inbox.received).toHaveLength(1);
    expect(await admin.messageCount(name)).toBe(1);
  });

  it('restarts a consumer the server cancelled because its queue was deleted, redeclaring the queue', async () => {
    const own = newBroker(AMQP_URL, { reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    await own.connect();
    const name = q();
    await own.declareQueue({ name });
    const inbox = new Inbox();
    await own.consume([name], { prefetch: 1 }, (d) => {
      inbox.push(d);
      void d.ack();
    });
    await admin.deleteQueues(name);
    for (let i = 0; i < 50 && !(await admin.queueExists(name)); i++) await sleep(20);
    expect(await admin.queueExists(name)).toBe(true);
    await own.publish(message({ headers: { after: true } }), { exchange: '', routingKey: name });
    const [d] = await inbox.count(1);
    expect(d.message.headers).toEqual({ after: true });
  });

  it('rejects (drops) a delivery whose handler throws, and keeps consuming', async () => {
    const name = q();
    await broker.declareQueue({ name });
    const inbox = new Inbox();
    await broker.consume([name], { prefetch: 1 }, (d) => {
      inbox.push(d);
      if (d.message.headers.boom) throw new Error('handler bug');
      void d.ack();
    });
    await broker.publish(message({ headers: { boom: true } }), { exchange: '', routingKey: name });
    await broker.publish(message({ headers: { boom: false } }), { exchange: '', routingKey: name });
    const got = await inbox.count(2);
    expect(got.map((d) => d.message.headers.boom)).toEqual([true, false]);
    await sleep(100);
    expect(inbox.received).toHaveLength(2);
    expect(await admin.messageCount(name)).toBe(0);
  });

  it('fails over to the next URL, and reports unreachable brokers clearly', async () => {
    const dead = 'amqp://guest:secret@127.0.0.1:1//';
    const failover = newBroker([dead, AMQP_URL]);
    await failover.connect();
    expect(failover.currentStatus).toBe('connected');

    const nowhere = newBroker(`${dead};pyamqp://guest:secret@127.0.0.1:2//`);
    const failed = nowhere.connect();
    await expect(failed).rejects.toBeInstanceOf(AmqpConnectionError);
    await expect(failed).rejects.toThrow(/127\.0\.0\.1:1.*127\.0\.0\.1:2/);
    await expect(failed).rejects.not.toThrow(/secret/);
    expect(nowhere.currentStatus).toBe('disconnected');
  });

  it('applies a window grown while the consumer subscribes, first and after a reconnect (held ETA tasks)', async () => {
    // the worker grows the window by one per ETA task it holds (Celery's qos.increment_eventually);
    // deliveries that arrive while the consumer is still subscribing grow it too, and must not be
    // left with the subscription's starting window of 1
    const connectionName = uniqueName('amqp-broker-window');
    const own = newBroker(AMQP_URL, { connectionName, reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
    await own.connect();
    const name = q();
    await own.declareQueue({ name });
    const N = 30;
    for (let i = 0; i < N; i++) await own.publish(message({ headers: { i } }), { exchange: '', routingKey: name });
    const inbox = new Inbox();
    // eslint-disable-next-line prefer-const -- holdAll runs while consume() is still subscribing, before the assignment
    let consumer: Consumer | undefined;
    let heldNow = 0;
    const holdAll = (d: Delivery) => {
      d.lost?.addEventListener('abort', () => consumer?.setPrefetch?.(1 + --heldNow));
      heldNow++;
      consumer?.setPrefetch?.(1 + heldNow);
      inbox.push(d);
    };
    consumer = await own.consume([name], { prefetch: 1, adjustablePrefetch: true }, holdAll);
    consumer.setPrefetch?.(1 + heldNow);
    await inbox.count(N, 30_000);

    await closeConnectionNamed(connectionName);
    // RabbitMQ requeues all N; the re-subscribed consumer starts at the shrunken window and grows again
    await inbox.count(2 * N, 30_000);
    expect(
      inbox.received
        .slice(N)
        .map((d) => d.message.headers.i)
        .sort((a, b) => Number(a) - Number(b)),
    ).toEqual([...Array(N).keys()]);
    for (const d of inbox.received.slice(N)) await d.ack();
  });

  it('reconnects after the server closes the connection: redeclares, re-consumes, publishes again', async () => {
    const connectionName = uniqueName('amqp-broker-reconnect');
    const own = newBroker(AMQP_URL, { connectionName, reconnect: { initialDelayMs: 50, maxDelayMs: 500 } });
    const statuses: ConnectionStatus[] = [];
    own.status$.subscribe((s) => statuses.push(s));
    await own.connect();
    const name = q();
    const reply = q('amqp-reply');
    await own.declareQueue({ name });
    // auto-delete: gone with its consumer's connection, so it must be redeclared
    await own.declareQueue({ name: reply, exchange: '', durable: false, autoDelete: true });
    const inbox = new Inbox();
    await own.consume([name], { prefetch: 5 }, inbox.push);
    const replies = new Inbox();
    await own.consume([reply], { prefetch: 0, noAck: true }, replies.push);

    await own.publish(message({ headers: { n: 1 } }), { exchange: '', routingKey: name });
    const [held] = await inbox.count(1); // left unsettled across the drop

    await closeConnectionNamed(connectionName);
    const redelivered = await inbox.count(2, 10_000);
    await firstValueFrom(own.status$.pipe(filter((s) => s === 'connected')));
    expect(statuses).toEqual(['disconnected', 'connecting', 'connected', 'disconnected', 'reconnecting', 'connected']);
    expect(redelivered[1].message.headers).toEqual({ n: 1 });
    expect(redelivered[1].deliveryInfo.redelivered).toBe(true);
    await held.ack(); // its channel is gone: a quiet no-op
    await redelivered[1].ack();

    await own.publish(message({ headers: { n: 2 } }), { exchange: '', routingKey: name });
    await own.publish(message(), { exchange: '', routingKey: reply });
    const after = await inbox.count(3);
    expect(after[2].message.headers).toEqual({ n: 2 });
    await after[2].ack();
    await replies.count(1);
    expect(await admin.messageCount(name)).toBe(0);
  });
});
