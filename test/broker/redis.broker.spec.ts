/**
 * RedisBroker against a real Redis: kombu 5.2's keys, envelope, ack emulation and restore.
 * Every test runs under its own kombu global_keyprefix (see RedisSandbox), except where the
 * literal kombu key names are the point.
 */
import { Redis } from 'ioredis';
import { decodeEnvelope, decodeUnackedEntry } from '../../libs/nestjs-celery/src/protocol/kombu-envelope.js';
import { dumps } from '../../libs/nestjs-celery/src/protocol/json.js';
import type { ConnectionStatus } from '../../libs/nestjs-celery/src/transport/connection-status.js';
import { RedisBroker } from '../../libs/nestjs-celery/src/transport/redis/broker/redis.broker.js';
import { describeIfAvailable, REDIS_URL, uniqueName } from '../support/services.js';
import { eventually, Inbox, RedisSandbox, recordingLogger, sleep, taskMessage } from './redis-support.js';
import { redisMonitor } from '../support/redis-monitor.js';

const describeRedis = await describeIfAvailable('redis broker', 'redis');
const SEP = '\x06\x16';

describeRedis('RedisBroker (kombu 5.2 wire format)', () => {
  let sandbox: RedisSandbox;
  beforeEach(() => {
    sandbox = new RedisSandbox();
  });
  afterEach(() => sandbox.cleanup());

  // first: ioredis keeps a failed socket's handle for a moment after the test
  it('refuses to work before connect() and fails connect() with a clear error', async () => {
    const broker = new RedisBroker('redis://127.0.0.1:1/0', { logger: recordingLogger(), redisOptions: { retryStrategy: () => null } });
    await expect(broker.publish(taskMessage('x'), { exchange: '', routingKey: 'q' })).rejects.toThrow(/call connect\(\) first/);
    await expect(broker.connect()).rejects.toThrow(/could not connect to the Redis broker \(redis:\/\/127\.0\.0\.1:1\/0: /);
    await broker.close();
  });

  it('round-trips a message: kombu envelope in the list, headers and properties intact', async () => {
    const broker = await sandbox.broker();
    const queue = uniqueName('q');
    const msg = taskMessage('id-1', {
      properties: { correlationId: 'id-1', replyTo: 'oid', deliveryMode: 2, priority: 0, expiration: '60000', origin: 'x@y' },
    });
    await broker.publish(msg, { exchange: '', routingKey: queue });

    const [raw] = await sandbox.redis.lrange(sandbox.key(queue), 0, -1);
    const env = JSON.parse(raw) as { properties: Record<string, unknown> };
    expect(Object.keys(env)).toEqual(['body', 'content-encoding', 'content-type', 'headers', 'properties']);
    expect(env.properties.delivery_info).toEqual({ exchange: '', routing_key: queue });
    expect(env.properties.body_encoding).toBe('base64');
    expect(env.properties.delivery_tag).toMatch(/^[0-9a-f-]{36}$/);

    const inbox = new Inbox();
    await broker.consume([queue], { prefetch: 1 }, inbox.handler);
    const [d] = await inbox.next(1);
    expect(d.transportError).toBeUndefined();
    expect(d.message.body.equals(msg.body)).toBe(true);
    expect(d.message.headers).toEqual(msg.headers);
    expect(d.message.properties).toEqual(msg.properties);
    expect(d.message.contentType).toBe('application/json');
    expect(d.deliveryInfo).toEqual({
      exchange: '',
      routingKey: queue,
      queue,
      redelivered: false,
      deliveryTag: env.properties.delivery_tag,
    });
    await d.ack();
  });

  it('maps priorities to kombu priority-step lists and consumes lower numbers first', async () => {
    const broker = await sandbox.broker();
    const queue = uniqueName('prio');
    for (const p of [0, 9, 5, 3, 1, 7]) {
      await broker.publish(taskMessage(`p${p}`, { properties: { priority: p } }), { exchange: '', routingKey: queue });
    }
    expect(await sandbox.redis.llen(sandbox.key(queue))).toBe(2); // 0, 1
    expect(await sandbox.redis.llen(sandbox.key(`${queue}${SEP}3`))).toBe(2); // 5, 3
    expect(await sandbox.redis.llen(sandbox.key(`${queue}${SEP}6`))).toBe(1); // 7
    expect(await sandbox.redis.llen(sandbox.key(`${queue}${SEP}9`))).toBe(1); // 9

    const inbox = new Inbox();
    await broker.consume([queue], { prefetch: 1 }, (d) => {
      inbox.handler(d);
      void d.ack();
    });
    const got = await inbox.next(6);
    expect(got.map((d) => d.message.headers.id)).toEqual(['p0', 'p1', 'p5', 'p3', 'p7', 'p9']);
  });

  it('consumes several queues round-robin, priority-major, like kombu', async () => {
    const broker = await sandbox.broker();
    const [a, b] = [uniqueName('rr-a'), uniqueName('rr-b')];
    for (const id of ['a1', 'a2', 'a3']) await broker.publish(taskMessage(id), { exchange: '', routingKey: a });
    for (const id of ['b1', 'b2']) await broker.publish(taskMessage(id), { exchange: '', routingKey: b });
    await broker.publish(taskMessage('b3', { properties: { priority: 0 } }), { exchange: '', routingKey: b });
    await broker.publish(taskMessage('a-late', { properties: { priority: 9 } }), { exchange: '', routingKey: a });
    const inbox = new Inbox();
    await broker.consume([a, b], { prefetch: 0 }, inbox.handler);
    const got = await inbox.next(7);
    expect(got.map((d) => d.message.headers.id)).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3', 'a-late']);
    expect(got.map((d) => d.deliveryInfo.queue)).toEqual([a, b, a, b, a, b, a]);
  });

  it('honours prefetch: never holds more unsettled deliveries than allowed, takes more as they settle', async () => {
    const broker = await sandbox.broker();
    const queue = uniqueName('prefetch');
    for (let i = 0; i < 5; i++) await broker.publish(taskMessage(`m${i}`), { exchange: '', routingKey: queue });
    const inbox = new Inbox();
    await broker.consume([queue], { prefetch: 2 }, inbox.handler);
    await inbox.next(2);
    await sleep(300);
    expect(inbox.deliveries).toHaveLength(2);
    expect(await sandbox.redis.llen(sandbox.key(queue))).toBe(3);
    expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(2);

    await inbox.deliveries[0].ack();
    await inbox.next(3);
    await sleep(200);
    expect(inbox.deliveries).toHaveLength(3);
    await inbox.deliveries[1].reject(false);
    await inbox.deliveries[2].ack();
    await inbox.next(5);
    expect(inbox.deliveries.map((d) => d.message.headers.id)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('records each delivery in unacked/unacked_index as kombu does; ack removes both', async () => {
    const broker = await sandbox.broker();
    const queue = uniqueName('ack');
    await broker.publish(taskMessage('a1'), { exchange: '', routingKey: queue });
    const [raw] = await sandbox.redis.lrange(sandbox.key(queue), 0, -1);
    const inbox = new Inbox();
    const before = Date.now() / 1000;
    await broker.consume([queue], { prefetch: 1 }, inbox.handler);
    const [d] = await inbox.next(1);
    const tag = String(d.deliveryInfo.deliveryTag);

    const entry = await sandbox.redis.hget(sandbox.key('unacked'), tag);
    expect(entry).toBe(`[${raw}, "", ${JSON.stringify(queue)}]`);
    expect(decodeUnackedEntry(entry!).routingKey).toBe(queue);
    const score = Number(await sandbox.redis.zscore(sandbox.key('unacked_index'), tag));
    expect(score).toBeGreaterThan(before - 5);
    expect(score).toBeLessThan(Date.now() / 1000 + 5);

    await d.ack();
    await d.ack(); // idempotent
    expect(await sandbox.redis.hexists(sandbox.key('unacked'), tag)).toBe(0);
    expect(await sandbox.redis.zscore(sandbox.key('unacked_index'), tag)).toBeNull();
  });

  it('acks settled in one turn leave as one ZREM and one HDEL over all their tags; each ack resolves after it', async () => {
    const broker = await sandbox.broker();
    const queue = uniqueName('ack-batch');
    const n = 150;
    for (let i = 0; i < n; i++) await broker.publish(taskMessage(`b${i}`), { exchange: '', routingKey: queue });
    const inbox = new Inbox();
    await broker.consume([queue], { prefetch: n }, inbox.handler);
    const deliveries = await inbox.next(n);
    expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(n);
    // A delivery reaches the handler before its unacked entry is recorded (pipelined on the broker's
    // connection) and its ack waits for that record. Redis holding all n entries does not mean this
    // process has read all n replies: on a loaded machine some arrived a turn later and their acks
    // made a second batch. A publish on the same connection is answered after every record, and one
    // turn later every record's continuation has run, so the acks below really are settled in one turn.
    await broker.publish(taskMessage('fence'), { exchange: '', routingKey: uniqueName('ack-batch-fence') });
    await new Promise<void>((resolve) => setImmediate(resolve));

    const monitor = await redisMonitor(REDIS_URL);
    try {
      const commands: string[][] = [];
      const marker = uniqueName('end-of-acks');
      const seen = new Promise<void>((resolve) =>
        monitor.onCommand((args) => {
          const name = args[0].toLowerCase();
          if ((name === 'zrem' || name === 'hdel') && args[1].startsWith(sandbox.key('unacked'))) commands.push(args);
          if (name === 'ping' && args[1] === marker) resolve();
        }),
      );
      // each ack resolves only once its batch is applied: the entry is gone when it does
      const tag0 = String(deliveries[0].deliveryInfo.deliveryTag);
      const first = deliveries[0].ack().then(() => sandbox.redis.hexists(sandbox.key('unacked'), tag0));
      await Promise.all(deliveries.slice(1).map((d) => d.ack()));
      expect(await first).toBe(0);
      await sandbox.redis.ping(marker);
      await seen;
      expect(commands.map((args) => [args[0].toLowerCase(), args[1], args.length - 2])).toEqual([
        ['zrem', sandbox.key('unacked_index'), n],
        ['hdel', sandbox.key('unacked'), n],
      ]);
    } finally {
      monitor.close();
    }
    expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(0);
    expect(await sandbox.redis.zcard(sandbox.key('unacked_index'))).toBe(0);
  });

  it('reject(requeue) puts the message at the far end marked redelivered; reject(false) drops it', async () => {
    const broker = await sandbox.broker();
    const queue = uniqueName('reject');
    for (const id of ['r1', 'r2']) await broker.publish(taskMessage(id), { exchange: '', routingKey: queue });
    const inbox = new Inbox();
    await broker.consume([queue], { prefetch: 1 }, inbox.handler);
    const [first] = await inbox.next(1);
    expect(first.message.headers.id).toBe('r1');
    await first.reject(true);
    const [, second] = await inbox.next(2);
    expect(second.message.headers.id).toBe('r2'); // the requeued one went behind r2 (LPUSH)
    await second.reject(false);
    const [, , third] = await inbox.next(3);
    expect(third.message.headers.id).toBe('r1');
    expect(third.deliveryInfo.redelivered).toBe(true);
    expect(third.message.headers.redelivered).toBe(true);
    await third.ack();
    await sleep(100);
    expect(inbox.deliveries).toHaveLength(3);
    expect(await sandbox.redis.llen(sandbox.key(queue))).toBe(0);
    expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(0);
    expect(await sandbox.redis.zcard(sandbox.key('unacked_index'))).toBe(0);
  });

  it('restores the deliveries of a consumer that vanished once the visibility timeout passes', async () => {
    const crashed = await sandbox.broker();
    const queue = uniqueName('crash');
    await crashed.publish(taskMessage('lost-1'), { exchange: '', routingKey: queue });
    const held = new Inbox();
    const consumer = await crashed.consume([queue], { prefetch: 1 }, held.handler);
    await held.next(1);
    await consumer.cancel(); // never acks: it hangs, like a SIGKILLed worker's entry in unacked

    const rescuer = await sandbox.broker({ visibilityTimeoutSeconds: 1, restoreIntervalSeconds: 0.25 });
    const inbox = new Inbox();
    const started = Date.now();
    await rescuer.consume([queue], { prefetch: 1 }, inbox.handler);
    const [d] = await inbox.next(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(d.message.headers.id).toBe('lost-1');
    expect(d.deliveryInfo.redelivered).toBe(true);
    expect(d.message.headers.redelivered).toBe(true);
    await d.ack();
    // the vanished consumer closing late must not bring it back a second time
    await crashed.close();
    expect(await sandbox.redis.llen(sandbox.key(queue))).toBe(0);
    expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(0);
  });

  it('leaves the unacked_mutex alone while another process holds it', async () => {
    const broker = await sandbox.broker({ visibilityTimeoutSeconds: 0, restoreIntervalSeconds: 0 });
    const queue = uniqueName('mutex');
    await broker.publish(taskMessage('m'), { exchange: '', routingKey: queue });
    const inbox = new Inbox();
    const consumer = await broker.consume([queue], { prefetch: 1 }, inbox.handler);
    await inbox.next(1);
    await consumer.cancel();
    await sandbox.redis.set(sandbox.key('unacked_mutex'), 'someone-else', 'PX', 10_000);
    expect(await broker.restoreVisible()).toBe(0);
    expect(await sandbox.redis.get(sandbox.key('unacked_mutex'))).toBe('someone-else');
    await sandbox.redis.del(sandbox.key('unacked_mutex'));
    await sleep(5);
    expect(await broker.restoreVisible()).toBe(1);
    expect(await sandbox.redis.exists(sandbox.key('unacked_mutex'))).toBe(0);
    expect(await sandbox.redis.llen(sandbox.key(queue))).toBe(1);
  });

  it('close() puts its own unsettled deliveries back (kombu restores at channel close)', async () => {
    const broker = await sandbox.broker();
    const queue = uniqueName('close');
    for (const id of ['c1', 'c2']) await broker.publish(taskMessage(id), { exchange: '', routingKey: queue });
    const inbox = new Inbox();
    await broker.consume([queue], { prefetch: 2 }, inbox.handler);
    const [c1, c2] = await inbox.next(2);
    await c1.ack();
    await broker.close();
    await c2.ack(); // after close: a no-op, the message is already back in its queue
    const left = await sandbox.redis.lrange(sandbox.key(queue), 0, -1);
    expect(left.map((r) => decodeEnvelope(r).message.headers.id)).toEqual(['c2']);
    expect(decodeEnvelope(left[0]).deliveryInfo.redelivered).toBe(true);
    expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(0);
  });

  it('writes kombu binding members and routes named direct and topic exchanges through them', async () => {
    const broker = await sandbox.broker();
    const [direct, topic] = [uniqueName('dx'), uniqueName('tx')];
    const [q1, q2, q3] = [uniqueName('bq1'), uniqueName('bq2'), uniqueName('bq3')];
    await broker.declareQueue({ name: q1, exchange: direct, routingKey: 'rk.one' });
    await broker.declareQueue({ name: q2, exchange: topic, exchangeType: 'topic', routingKey: 'a.*' });
    await broker.declareQueue({ name: q3, exchange: topic, exchangeType: 'topic', routingKey: 'a.#' });
    expect(await sandbox.redis.smembers(sandbox.key(`_kombu.binding.${direct}`))).toEqual([`rk.one${SEP}${SEP}${q1}`]);
    expect((await sandbox.redis.smembers(sandbox.key(`_kombu.binding.${topic}`))).sort()).toEqual(
      [`a.*${SEP}^a\\..*?[^\\.]$${SEP}${q2}`, `a.#${SEP}^a\\..*?$${SEP}${q3}`].sort(),
    );

    await broker.publish(taskMessage('d1', { properties: { priority: 6 } }), { exchange: direct, routingKey: 'rk.one' });
    await broker.publish(taskMessage('d-miss'), { exchange: direct, routingKey: 'rk.two' });
    await broker.publish(taskMessage('t1'), { exchange: topic, routingKey: 'a.b' });
    await broker.publish(taskMessage('t-miss'), { exchange: topic, routingKey: 'b.a' });
    expect(await sandbox.redis.llen(sandbox.key(`${q1}${SEP}6`))).toBe(1);
    const inbox = new Inbox();
    await broker.consume([q1, q2, q3], { prefetch: 0 }, inbox.handler);
    const got = await inbox.next(3);
    await sleep(100);
    expect(inbox.deliveries).toHaveLength(3);
    expect(got.map((d) => `${d.deliveryInfo.queue === q1 ? 'q1' : d.deliveryInfo.queue === q2 ? 'q2' : 'q3'}:${String(d.message.headers.id)}`).sort()).toEqual([
      'q1:d1',
      'q2:t1',
      'q3:t1',
    ]);
    expect(got.find((d) => d.message.headers.id === 'd1')!.deliveryInfo).toMatchObject({ exchange: direct, routingKey: 'rk.one' });
  });

  it('uses the literal kombu names without a prefix: _kombu.binding.<exchange> and the queue list', async () => {
    const broker = new RedisBroker(REDIS_URL, { logger: recordingLogger() });
    const raw = new Redis(REDIS_URL);
    const name = uniqueName('plain');
    try {
      await broker.connect();
      await broker.declareQueue({ name });
      expect(await raw.smembers(`_kombu.binding.${name}`)).toEqual([`${name}${SEP}${SEP}${name}`]);
      await broker.publish(taskMessage('p'), { exchange: name, routingKey: name });
      await broker.publish(taskMessage('p3', { properties: { priority: 3 } }), { exchange: '', routingKey: name });
      expect(await raw.llen(name)).toBe(1);
      expect(await raw.llen(`${name}${SEP}3`)).toBe(1);
    } finally {
      await broker.close();
      await raw.del(name, `${name}${SEP}3`, `_kombu.binding.${name}`);
      raw.disconnect();
    }
  });

  it('broadcasts to fanout exchanges with PUBLISH /{db}.<exchange>[/<key>] and receives them via PSUBSCRIBE', async () => {
    const broker = await sandbox.broker();
    const exchange = uniqueName('fx');
    const [pidbox, events] = [uniqueName('pidbox-q'), uniqueName('events-q')];
    await broker.declareExchange({ name: exchange, type: 'fanout', durable: false });
    await broker.declareQueue({ name: pidbox, exchange, exchangeType: 'fanout', routingKey: '', autoDelete: true });
    await broker.declareQueue({ name: events, exchange, exchangeType: 'fanout', routingKey: 'worker.#', autoDelete: true });

    const spy = new Redis(REDIS_URL);
    const seen: string[] = [];
    spy.on('pmessage', (_p: string, channel: string) => seen.push(channel));
    await spy.psubscribe(`${sandbox.prefix}/0.${exchange}*`);

    const plain = new Inbox();
    const patterned = new Inbox();
    await broker.consume([pidbox], { prefetch: 1, noAck: true }, plain.handler);
    await broker.consume([events], { prefetch: 1, noAck: true }, patterned.handler);
    await broker.publish(taskMessage('ping'), { exchange, routingKey: '' });
    await broker.publish(taskMessage('heartbeat'), { exchange, routingKey: 'worker.heartbeat' });

    const [ping] = await plain.next(1);
    const [heartbeat] = await patterned.next(1);
    expect(ping.message.headers.id).toBe('ping');
    expect(ping.deliveryInfo).toMatchObject({ exchange, routingKey: '', queue: pidbox });
    expect(heartbeat.message.headers.id).toBe('heartbeat');
    expect(heartbeat.deliveryInfo).toMatchObject({ routingKey: 'worker.heartbeat', queue: events });
    await eventually(() => seen.length === 2, undefined, 'spy to see both broadcasts');
    expect(seen).toEqual([`${sandbox.prefix}/0.${exchange}`, `${sandbox.prefix}/0.${exchange}/worker.heartbeat`]);
    await sleep(100);
    expect(plain.deliveries).toHaveLength(1); // '/0.<exchange>' does not match '/0.<exchange>/worker.heartbeat'
    expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(0);
    spy.disconnect();

    // auto-delete fanout queues lose their binding when the broker closes (kombu Channel.close)
    await broker.close();
    expect(await sandbox.redis.exists(sandbox.key(`_kombu.binding.${exchange}`))).toBe(0);
  });

  it('remembers exchange types declared before connect() and across close()/connect()', async () => {
    const broker = new RedisBroker(REDIS_URL, { logger: recordingLogger(), globalKeyprefix: sandbox.prefix });
    const exchange = uniqueName('memo');
    await broker.declareExchange({ name: exchange, type: 'fanout' });
    const spy = new Redis(REDIS_URL);
    const seen: string[] = [];
    spy.on('pmessage', (_p: string, channel: string) => seen.push(channel));
    await spy.psubscribe(`${sandbox.prefix}/0.${exchange}*`);
    try {
      await broker.connect();
      await broker.publish(taskMessage('one'), { exchange, routingKey: 'k' });
      await broker.close();
      await broker.connect();
      await broker.publish(taskMessage('two'), { exchange, routingKey: 'k' });
      await eventually(() => seen.length === 2, undefined, 'both broadcasts');
      expect(seen).toEqual([`${sandbox.prefix}/0.${exchange}/k`, `${sandbox.prefix}/0.${exchange}/k`]);
    } finally {
      spy.disconnect();
      await broker.close();
    }
  });

  it('hands over a readable but broken envelope with transportError, drops non-JSON with a log line, keeps going', async () => {
    const logger = recordingLogger();
    const broker = await sandbox.broker({ logger });
    const queue = uniqueName('broken');
    const key = sandbox.key(queue);
    const badBody = dumps({
      body: 'not base64!',
      'content-encoding': 'utf-8',
      'content-type': 'application/json',
      headers: { id: 'bad-1', task: 'tests.echo' },
      properties: { delivery_info: { exchange: '', routing_key: queue }, priority: 0, body_encoding: 'base64', delivery_tag: 'tag-bad-1' },
    });
    await sandbox.redis.lpush(key, badBody);
    await sandbox.redis.lpush(key, '{"this is": not json');
    await broker.publish(taskMessage('good-1'), { exchange: '', routingKey: queue });

    const inbox = new Inbox();
    await broker.consume([queue], { prefetch: 5 }, inbox.handler);
    const [bad, good] = await inbox.next(2);
    expect(bad.transportError?.message).toMatch(/not valid base64/);
    expect(bad.message.headers.id).toBe('bad-1');
    expect(bad.deliveryInfo.deliveryTag).toBe('tag-bad-1');
    expect(good.transportError).toBeUndefined();
    expect(good.message.headers.id).toBe('good-1');
    expect(logger.lines.filter((l) => l.startsWith('error') && l.includes(queue) && l.includes('not a kombu envelope'))).toHaveLength(1);

    await bad.reject(false);
    await good.ack();
    expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(0);

    // an envelope without delivery_tag: delivered with transportError, never recorded
    await sandbox.redis.lpush(key, dumps({ body: '', headers: { id: 'no-tag' }, properties: { delivery_info: { exchange: '', routing_key: queue } } }));
    const [, , noTag] = await inbox.next(3);
    expect(noTag.transportError?.message).toMatch(/delivery_tag is missing/);
    expect(noTag.message.headers.id).toBe('no-tag');
    expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(0);
    await noTag.reject(false);
  });

  it('cancels a consumer blocked in BRPOP at once and loses nothing', async () => {
    const broker = await sandbox.broker({ pollTimeoutSeconds: 5 });
    const queue = uniqueName('cancel');
    const inbox = new Inbox();
    const consumer = await broker.consume([queue], { prefetch: 1 }, inbox.handler);
    await sleep(100);
    const t = Date.now();
    await consumer.cancel();
    expect(Date.now() - t).toBeLessThan(1000);
    await broker.publish(taskMessage('after'), { exchange: '', routingKey: queue });
    await sleep(100);
    expect(inbox.deliveries).toHaveLength(0);
    expect(await sandbox.redis.llen(sandbox.key(queue))).toBe(1);
  });

  it('reports status and keeps consuming across a dropped connection', async () => {
    const name = uniqueName('conn').replace(/\./g, '-');
    const broker = await sandbox.broker({ redisOptions: { connectionName: name } });
    const statuses: ConnectionStatus[] = [];
    broker.status$.subscribe((s) => statuses.push(s));
    expect(statuses).toEqual(['connected']);
    const queue = uniqueName('reconnect');
    const inbox = new Inbox();
    const ackErrors: unknown[] = [];
    await broker.consume([queue], { prefetch: 1 }, (d) => {
      inbox.handler(d);
      d.ack().catch((e) => ackErrors.push(e));
    });
    await sleep(100);
    const clients = (await sandbox.redis.client('LIST')) as string;
    const ids = clients
      .split('\n')
      .filter((l) => l.includes(`name=${name}-`))
      .map((l) => /id=(\d+)/.exec(l)![1]);
    expect(ids.length).toBe(2); // main + consumer
    for (const id of ids) await sandbox.redis.client('KILL', 'ID', id);
    await eventually(() => statuses.includes('reconnecting') && statuses.at(-1) === 'connected', undefined, 'reconnect');
    await broker.publish(taskMessage('after-reconnect'), { exchange: '', routingKey: queue });
    const [d] = await inbox.next(1);
    expect(d.message.headers.id).toBe('after-reconnect');
    await broker.close(); // right after the ack was called: close() lets it reach Redis first
    expect(ackErrors).toEqual([]);
    expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(0);
    expect(statuses.at(-1)).toBe('closed');
  });
});
