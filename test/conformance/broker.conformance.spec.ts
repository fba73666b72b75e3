/**
 * What every Broker must do, run against every driver in drivers.ts: publish/consume, ack, reject
 * with and without requeue, prefetch, redelivery on close, priorities, direct and topic routing,
 * fanout, delayed delivery and reconnect. A capability the driver declares absent is asserted
 * absent; one it declares present must work.
 */
import { randomUUID } from 'node:crypto';
import { firstValueFrom, filter, timeout } from 'rxjs';
import type { Broker, Delivery, QueueDeclaration, TransportMessage } from '../../libs/nestjs-celery/src/transport/broker.interface.js';
import { TOPIC_TABLE } from '../../libs/nestjs-celery/src/transport/topic-match.table.js';
import { describeIfAvailable, uniqueName } from '../support/services.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { brokerDrivers } from './drivers.js';

const message = (body: string, priority?: number): TransportMessage => ({
  body: Buffer.from(body),
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  headers: { id: randomUUID() },
  properties: { deliveryMode: 2, correlationId: randomUUID(), ...(priority === undefined ? {} : { priority }) },
});

/** Resolves with the first `count` deliveries, or rejects after `ms` (a deadline, never a sleep). */
function collect(count: number, ms = 15_000) {
  const got: Delivery[] = [];
  let done!: (d: Delivery[]) => void;
  const all = new Promise<Delivery[]>((resolve, reject) => {
    done = resolve;
    setTimeout(() => reject(new Error(`only ${got.length}/${count} deliveries in ${ms} ms`)), ms).unref();
  });
  const handler = (d: Delivery) => {
    got.push(d);
    if (got.length === count) done(got);
  };
  return { handler, all, got };
}

/** Resolves once `predicate` holds for a delivery (checked as each arrives), or rejects after `ms`. */
function arrival(predicate: (d: Delivery) => boolean, ms = 15_000) {
  let done!: (d: Delivery) => void;
  const seen = new Promise<Delivery>((resolve, reject) => {
    done = resolve;
    setTimeout(() => reject(new Error(`no matching delivery in ${ms} ms`)), ms).unref();
  });
  return { seen, offer: (d: Delivery) => predicate(d) && done(d) };
}

const bodyOf = (d: Delivery) => d.message.body.toString();

for (const driver of brokerDrivers) {
  const describeDriver = await describeIfAvailable(`broker conformance: ${driver.name}`, ...driver.services);

  describeDriver(`Broker conformance: ${driver.name}`, () => {
    let broker: Broker;
    beforeAll(async () => {
      broker = driver.create();
      await broker.connect();
    });
    afterAll(() => broker.close());

    const queue = async (on: Broker = broker, extra: Partial<QueueDeclaration> = {}) => {
      const name = uniqueName('conf');
      await on.declareQueue({ name, autoDelete: true, ...extra });
      return name;
    };
    /** a queue that outlives its consumers (RabbitMQ drops an auto-delete one with its last consumer) and expires unused */
    const lasting = (on: Broker) => queue(on, { autoDelete: false, arguments: { 'x-expires': 60_000 } });

    it('publishes and consumes body, headers and properties; ack settles', async () => {
      const name = await queue();
      const sent = message('"one"');
      const inbox = collect(1);
      const consumer = await broker.consume([name], { prefetch: 1 }, inbox.handler);
      await broker.publish(sent, { exchange: '', routingKey: name });
      const [d] = await inbox.all;
      expect(bodyOf(d)).toBe('"one"');
      expect(d.message.headers.id).toBe(sent.headers.id);
      expect(d.message.properties.correlationId).toBe(sent.properties.correlationId);
      expect(d.deliveryInfo.queue).toBe(name);
      expect(d.deliveryInfo.redelivered).toBe(false);
      await d.ack();
      await d.ack(); // idempotent
      await consumer.cancel();
    }, 30_000);

    it('reject(true) requeues and redelivers; reject(false) drops', async () => {
      const name = await queue();
      const inbox = collect(2);
      const consumer = await broker.consume([name], { prefetch: 1 }, (d) => {
        inbox.handler(d);
        if (inbox.got.length === 1) void d.reject(true);
      });
      await broker.publish(message('"again"'), { exchange: '', routingKey: name });
      const [first, second] = await inbox.all;
      expect(second.message.headers.id).toBe(first.message.headers.id);
      expect(second.deliveryInfo.redelivered).toBe(true);
      await second.reject(false);
      await consumer.cancel();
    }, 30_000);

    it('prefetch bounds unsettled deliveries', async () => {
      const name = await queue();
      for (let i = 0; i < 3; i++) await broker.publish(message(`${i}`), { exchange: '', routingKey: name });
      const inbox = collect(2);
      const consumer = await broker.consume([name], { prefetch: 1 }, inbox.handler);
      await new Promise((r) => setTimeout(r, 500)); // a window in which a second delivery would be a bug
      expect(inbox.got).toHaveLength(1);
      await inbox.got[0].ack();
      await inbox.all;
      await inbox.got[1].ack();
      await consumer.cancel();
    }, 30_000);

    it('close() gives unacked deliveries back: another connection gets them, flagged redelivered', async () => {
      const first = driver.create();
      await first.connect();
      const name = await lasting(first);
      for (const body of ['"a"', '"b"']) await first.publish(message(body), { exchange: '', routingKey: name });
      const held = collect(2);
      await first.consume([name], { prefetch: 2 }, held.handler);
      await held.all;
      await first.close(); // neither acked nor rejected
      const again = collect(2);
      const consumer = await broker.consume([name], { prefetch: 2 }, again.handler);
      const back = await again.all;
      expect(back.map(bodyOf).sort()).toEqual(['"a"', '"b"']);
      expect(back.map((d) => d.deliveryInfo.redelivered)).toEqual([true, true]);
      for (const d of back) await d.ack();
      await consumer.cancel();
    }, 30_000);

    it('priorities order a queue as the driver declares (higher-first, lower-first or none)', async () => {
      // x-max-priority makes an AMQP queue a priority queue; kombu's Redis ignores queue arguments
      const name = await queue(broker, { arguments: { 'x-max-priority': 9 } });
      // published 3, 0, 9: each order tells the three apart (Redis steps: 0, 3, 9 are distinct)
      for (const p of [3, 0, 9]) await broker.publish(message(`${p}`, p), { exchange: '', routingKey: name });
      const inbox = collect(3);
      const consumer = await broker.consume([name], { prefetch: 1 }, (d) => {
        inbox.handler(d);
        void d.ack();
      });
      const order = (await inbox.all).map(bodyOf);
      const expected = { 'higher-first': ['9', '3', '0'], 'lower-first': ['0', '3', '9'], none: ['3', '0', '9'] }[broker.capabilities.priorities];
      expect(order).toEqual(expected);
      await consumer.cancel();
    }, 30_000);

    it('direct routing: a named direct exchange delivers to the queue bound with the routing key only', async () => {
      const exchange = uniqueName('conf-direct');
      const [q1, q2] = [uniqueName('conf'), uniqueName('conf')];
      await broker.declareQueue({ name: q1, exchange, exchangeType: 'direct', exchangeDurable: false, routingKey: 'k1', autoDelete: true });
      await broker.declareQueue({ name: q2, exchange, exchangeType: 'direct', exchangeDurable: false, routingKey: 'k2', autoDelete: true });
      const inbox = collect(2);
      const consumer = await broker.consume([q1, q2], { prefetch: 10, noAck: true }, inbox.handler);
      await broker.publish(message('"to-k1"'), { exchange, routingKey: 'k1' });
      await broker.publish(message('"to-k2"'), { exchange, routingKey: 'k2' });
      await broker.publish(message('"to-nobody"'), { exchange, routingKey: 'k3' });
      // per-queue FIFO: a stray copy in q2 would arrive before "to-k2", so two deliveries settle it
      const got = await inbox.all;
      expect(got.map((d) => [d.deliveryInfo.queue, bodyOf(d), d.deliveryInfo.exchange, d.deliveryInfo.routingKey]).sort()).toEqual(
        [
          [q1, '"to-k1"', exchange, 'k1'],
          [q2, '"to-k2"', exchange, 'k2'],
        ].sort(),
      );
      await consumer.cancel();
    }, 30_000);

    it('topic routing: the shared table, AMQP column with topicExchanges, kombu column without', async () => {
      const exchange = uniqueName('conf-topic');
      const column = broker.capabilities.topicExchanges ? 2 : 3;
      const rows = TOPIC_TABLE.map((row, i) => ({ pattern: row[0], key: row[1], routes: row[column], queue: uniqueName(`conf-t${i}`) }));
      for (const [i, r] of rows.entries()) {
        for (const routingKey of [r.pattern, `sentinel-${i}`]) {
          await broker.declareQueue({ name: r.queue, exchange, exchangeType: 'topic', exchangeDurable: false, routingKey, autoDelete: true });
        }
      }
      const byQueue = new Map(rows.map((r) => [r.queue, [] as string[]]));
      const sentinels = collect(rows.length);
      const consumer = await broker.consume(
        rows.map((r) => r.queue),
        { prefetch: 100, noAck: true },
        (d) => {
          const body = JSON.parse(bodyOf(d)) as string;
          byQueue.get(d.deliveryInfo.queue)!.push(body);
          if (body === `sentinel-${rows.findIndex((r) => r.queue === d.deliveryInfo.queue)}`) sentinels.handler(d);
        },
      );
      for (const [i, r] of rows.entries()) await broker.publish(message(JSON.stringify(`row-${i}`)), { exchange, routingKey: r.key });
      // each queue's sentinel comes after every row message routed to it (per-queue FIFO)
      for (const i of rows.keys()) await broker.publish(message(JSON.stringify(`sentinel-${i}`)), { exchange, routingKey: `sentinel-${i}` });
      await sentinels.all;
      const verdicts = rows.map((r, i) => [r.pattern, r.key, byQueue.get(r.queue)!.includes(`row-${i}`)]);
      expect(verdicts).toEqual(rows.map((r) => [r.pattern, r.key, r.routes]));
      await consumer.cancel();
    }, 60_000);

    // kombu's Redis fanout (fanout_patterns, on by default since kombu 4) turns a binding key into a
    // PUB/SUB pattern: a queue bound with key K hears only publishes whose routing key matches K.
    // What every broker promises is what Celery's broadcasts use: binding key '' and publish key ''.
    it('fanout: every queue bound with key "" gets a copy of a publish with key ""', async () => {
      const exchange = uniqueName('conf-fanout');
      const a = uniqueName('conf');
      const b = uniqueName('conf');
      for (const name of [a, b]) {
        await broker.declareQueue({ name, exchange, exchangeType: 'fanout', exchangeDurable: false, routingKey: '', autoDelete: true });
      }
      const inbox = collect(2);
      // one consumer per queue, as each worker node consumes its own broadcast queue
      const consumers = [
        await broker.consume([a], { prefetch: 1, noAck: true }, inbox.handler),
        await broker.consume([b], { prefetch: 1, noAck: true }, inbox.handler),
      ];
      await broker.publish(message('"all"'), { exchange, routingKey: '' });
      const got = await inbox.all;
      expect(got.map((d) => d.deliveryInfo.queue).sort()).toEqual([a, b].sort());
      expect(got.map(bodyOf)).toEqual(['"all"', '"all"']);
      await Promise.all(consumers.map((c) => c.cancel()));
    }, 30_000);

    it('delayed delivery: present → a message routed for 1 s arrives no sooner; absent → undefined', async () => {
      const delayed = broker.delayedDelivery;
      if (!delayed) {
        expect(broker.delayedDelivery).toBeUndefined();
        return;
      }
      // quorum, as Celery's broker_native_delayed_delivery_queue_type defaults (and peers declare it)
      await delayed.declareTopology('quorum');
      const name = uniqueName('conf');
      const declaration = {
        name,
        exchange: uniqueName('conf-delayed'),
        exchangeType: 'topic' as const,
        exchangeDurable: false,
        routingKey: name,
        autoDelete: true,
      };
      await broker.declareQueue(declaration);
      expect(await delayed.bindQueue(declaration)).toBe(true);
      const inbox = collect(1);
      const consumer = await broker.consume([name], { prefetch: 1, noAck: true }, inbox.handler);
      const sentAt = Date.now();
      await broker.publish(message('"later"'), delayed.route(1, name));
      const [d] = await inbox.all;
      // a slow machine only makes it later, so "no sooner than the delay" is deterministic
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(900);
      expect(bodyOf(d)).toBe('"later"');
      await consumer.cancel();
    }, 30_000);

    it('reconnect: after the network is cut and restored, the same broker consumes and publishes again', async () => {
      if (!driver.network) {
        // in-process: there is no connection to lose, and status$ says connected throughout
        expect(await firstValueFrom(broker.status$)).toBe('connected');
        return;
      }
      const proxy = new TcpProxy(0, driver.network.port);
      await proxy.start();
      const cut = driver.create(proxy.port);
      try {
        const statuses: string[] = [];
        cut.status$.subscribe((s) => statuses.push(s));
        await cut.connect();
        const name = await lasting(cut);
        const inbox = arrival((d) => bodyOf(d) === '"after"', 30_000);
        const before = arrival((d) => bodyOf(d) === '"before"');
        await cut.consume([name], { prefetch: 10 }, (d) => {
          before.offer(d);
          inbox.offer(d);
          void d.ack();
        });
        await cut.publish(message('"before"'), { exchange: '', routingKey: name });
        await before.seen;

        proxy.cut();
        await firstValueFrom(
          cut.status$.pipe(
            filter((s) => s !== 'connected'),
            timeout(30_000),
          ),
        );
        proxy.restore();
        await firstValueFrom(
          cut.status$.pipe(
            filter((s) => s === 'connected'),
            timeout(30_000),
          ),
        );
        expect(proxy.accepted).toBeGreaterThanOrEqual(2);

        await cut.publish(message('"after"'), { exchange: '', routingKey: name });
        const d = await inbox.seen;
        expect(d.deliveryInfo.queue).toBe(name);
        expect(statuses).toContain('connected');
      } finally {
        await cut.close();
        await proxy.stop();
      }
    }, 60_000);
  });
}
