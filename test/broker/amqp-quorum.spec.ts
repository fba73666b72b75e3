/**
 * Celery 5.5/5.6 fleets on RabbitMQ: quorum queues, per-consumer QoS, native delayed delivery,
 * declaration mismatches and exclusive remote-control queues, against the real broker (3.10
 * here, where quorum queues exist and refuse global QoS as 4.x does). Runs on RabbitMQ 3.x and on the
 * RabbitMQ 4.x node with every deprecated feature denied.
 */
import { jest } from '@jest/globals';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import type { CeleryOptions } from '../../libs/nestjs-celery/src/engine/celery.options.js';
import { QueueMismatchError } from '../../libs/nestjs-celery/src/engine/errors.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { PidboxNode } from '../../libs/nestjs-celery/src/engine/control/pidbox-node.js';
import { LamportClock } from '../../libs/nestjs-celery/src/engine/events/lamport-clock.js';
import { EventReceiver } from '../../libs/nestjs-celery/src/engine/events/event-receiver.js';
import { AmqpBroker } from '../../libs/nestjs-celery/src/transport/amqp/amqp.broker.js';
import { QueueInUseError } from '../../libs/nestjs-celery/src/transport/broker.errors.js';
import { deleteAmqpQueues } from '../support/cleanup.js';
import { AMQP4_URL } from '../support/peers.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

const describeAmqp = await describeIfAvailable('quorum queues and delayed delivery on RabbitMQ', 'rabbitmq', 'rabbitmq4', 'redis');
jest.setTimeout(60_000);

describeAmqp.each([
  ['RabbitMQ 3.x', AMQP_URL],
  ['RabbitMQ 4.x', AMQP4_URL],
])('quorum queues and delayed delivery on %s', (_broker, BROKER_URL) => {
  const apps: Celery[] = [];
  const workers: Worker[] = [];
  const queues: string[] = [];

  function app(options: CeleryOptions = {}): Celery {
    const a = new Celery({ broker: BROKER_URL, backend: REDIS_URL, logger: silentLogger, ...options });
    apps.push(a);
    return a;
  }

  function queue(): string {
    const name = uniqueName('quorum');
    queues.push(name);
    return name;
  }

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop(1000).catch(() => undefined);
    for (const a of apps.splice(0)) await a.close().catch(() => undefined);
  });

  afterAll(async () => {
    await deleteAmqpQueues(queues, queues, BROKER_URL).catch(() => undefined);
  });

  test('a quorum default queue is declared like Celery (x-queue-type quorum) and consumed with per-consumer QoS', async () => {
    const q = queue();
    const client = app({ taskDefaultQueue: q, taskDefaultQueueType: 'quorum' });
    expect(client.queueDeclaration(q)).toMatchObject({ durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const worker = new Worker(app({ taskDefaultQueue: q, taskDefaultQueueType: 'quorum' }), { concurrency: 2, logger: silentLogger, hostname: `${q}@test` });
    workers.push(worker);
    worker.register('t.add', ([x, y]) => (x as number) + (y as number));
    await worker.start();
    const results = await Promise.all([1, 2, 3, 4].map((i) => client.sendTask('t.add', [i, 1])));
    expect(await Promise.all(results.map((r) => r.get({ timeout: 30_000 })))).toEqual([2, 3, 4, 5]);
    // an ETA task held on a quorum queue widens the window by re-subscribing (no global QoS)
    const held = await client.sendTask('t.add', [10, 10], {}, { eta: new Date(Date.now() + 3000), queue: q });
    const now = await client.sendTask('t.add', [1, 1]);
    expect(await now.get({ timeout: 30_000 })).toBe(2);
    expect(await held.get({ timeout: 30_000 })).toBe(20);
  });

  test('an existing queue of another type is one clear error naming the queue, both sides and the option; passive mode uses it as it is', async () => {
    const q = queue();
    const quorum = app({ taskDefaultQueue: q, taskDefaultQueueType: 'quorum' });
    await quorum.connect();
    await quorum.declareQueue(q);
    const classic = app({ taskDefaultQueue: q });
    await classic.connect();
    const error = await classic.declareQueue(q).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(QueueMismatchError);
    const message = (error as Error).message;
    expect(message).toContain(`queue '${q}'`);
    expect(message).toContain("'x-queue-type'");
    expect(message).toContain('quorum');
    expect(message).toContain('taskDefaultQueueType');
    const passive = app({ taskDefaultQueue: q, taskQueueDeclaration: 'passive' });
    const worker = new Worker(passive, { concurrency: 1, logger: silentLogger, hostname: `${q}@passive` });
    workers.push(worker);
    worker.register('t.echo', ([v]) => v);
    await worker.start();
    expect(await (await passive.sendTask('t.echo', ['ok'])).get({ timeout: 30_000 })).toBe('ok');
  });

  test('native delayed delivery: a countdown to a quorum queue on a topic exchange travels through celery_delayed_* and arrives when due', async () => {
    const q = queue();
    const settings: CeleryOptions = { taskDefaultQueue: q, taskDefaultQueueType: 'quorum', taskDefaultExchangeType: 'topic' };
    const worker = new Worker(app(settings), { concurrency: 1, logger: silentLogger, hostname: `${q}@delayed` });
    workers.push(worker);
    const seen: { routingKey: string; exchange: string; at: number }[] = [];
    worker.register('t.when', (_args, _kwargs, ctx) => {
      seen.push({ routingKey: ctx.deliveryInfo.routingKey, exchange: ctx.deliveryInfo.exchange, at: Date.now() });
      return 'ran';
    });
    await worker.start();
    const client = app(settings);
    const sent = Date.now();
    const result = await client.sendTask('t.when', [], {}, { countdown: 3 });
    expect(await result.get({ timeout: 30_000 })).toBe('ran');
    expect(seen).toHaveLength(1);
    // the binary digits of 3 s, then the queue's routing key (kombu's calculate_routing_key)
    expect(seen[0].routingKey).toBe(`${'0.'.repeat(26)}1.1.${q}`);
    expect(seen[0].exchange).toMatch(/^celery_delayed_/);
    expect(seen[0].at - sent).toBeGreaterThanOrEqual(2000);
  });

  test('an exclusive pidbox queue held by another connection: QueueInUseError, then the node listens once it is released', async () => {
    const name = uniqueName('pidbox');
    const holder = new AmqpBroker(BROKER_URL, { logger: silentLogger });
    const second = new AmqpBroker(BROKER_URL, { logger: silentLogger });
    await holder.connect();
    await second.connect();
    try {
      const logs: string[] = [];
      const logger = { ...silentLogger, warn: (m: string) => logs.push(m), log: (m: string) => logs.push(m) };
      const first = new PidboxNode(
        { broker: holder, clock: new LamportClock(), publishDirect: (_what, message, route) => holder.publish(message, route) },
        new Map(),
        { hostname: name, logger: silentLogger },
      );
      await first.start();
      const blocked = new PidboxNode(
        { broker: second, clock: new LamportClock(), publishDirect: (_what, message, route) => second.publish(message, route) },
        new Map(),
        { hostname: name, logger },
      );
      await expect(second.declareQueue({ name: first.queueName, exchange: '', durable: false, exclusive: true, autoDelete: true })).rejects.toBeInstanceOf(
        QueueInUseError,
      );
      await blocked.start(); // does not throw: retries in the background
      expect(logs.join('\n')).toMatch(/RESOURCE_LOCKED|exclusive to another connection/);
      await holder.close();
      const deadline = Date.now() + 30_000;
      while (!logs.some((l) => l.includes('remote control listening')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(logs.some((l) => l.includes('remote control listening'))).toBe(true);
      await blocked.stop();
    } finally {
      await holder.close();
      await second.close();
    }
  });

  test('classic queues with RPC results, an ETA task, an event receiver and remote control: nothing RabbitMQ 4.3 denies', async () => {
    const q = queue();
    const rpc = app({ taskDefaultQueue: q, backend: 'rpc://' });
    const worker = new Worker(rpc, { concurrency: 2, logger: silentLogger, hostname: `${q}@classic` });
    workers.push(worker);
    worker.register('t.add', ([x, y]) => (x as number) + (y as number));
    await worker.start();
    const events: string[] = [];
    const receiver = new EventReceiver(rpc, { handlers: { '*': (e) => events.push(e.type) }, wakeup: false });
    await receiver.start();
    try {
      expect(await (await rpc.sendTask('t.add', [1, 2])).get({ timeout: 30_000 })).toBe(3);
      expect(await (await rpc.sendTask('t.add', [2, 2], {}, { countdown: 1 })).get({ timeout: 30_000 })).toBe(4);
      const pongs = await rpc.control.ping({ timeout: 3000 });
      expect(pongs.flatMap((p) => Object.keys(p))).toContain(`${q}@classic`);
    } finally {
      await receiver.stop();
    }
  });
});
