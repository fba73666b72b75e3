/**
 * The bench's ceilings: what RabbitMQ, Redis and the result backend can do on this machine with
 * no Celery logic, driven the way our worker drives them. Modes:
 *  - broker: consume N preloaded messages (RabbitMQ: prefetch = concurrency, one `multiple` ack
 *    per batch of settles; Redis: the same pop-and-record script and batched ZREM/HDEL acks as our Redis
 *    broker), nothing decoded, nothing stored; timed here, first delivery → last
 *  - backend: N pipelined result stores (SETEX + PUBLISH of celery-task-meta-<id>, up to 128 per
 *    pipeline as our backend batches them, `concurrency` stores in flight); timed by the bench's
 *    result observer, as a worker's drain
 *  - both: consume → read the arguments → store x + y → ack once stored, same batching
 *  - publish: N messages of a Celery task's size, RabbitMQ with publisher confirms (`inflight`
 *    unconfirmed at most), Redis with pipelined LPUSH; timed here
 *  - rtt: the round trip floor's client, one task at a time against a `both` consumer started with
 *    `declare` (it declares the queue; on Redis it blocks in BRPOP when the queue is empty, as our
 *    consumer does): SUBSCRIBE to the result key and publish in the same turn (RabbitMQ without
 *    confirms, Celery's default; Redis LPUSH), a GET once subscribed, timed until the result is read
 */
import { performance } from 'node:perf_hooks';
import { connect, type ConsumeMessage } from 'amqplib';
import { Redis } from 'ioredis';
import { KombuKeys } from '../../libs/nestjs-celery/src/transport/redis/broker/redis-keys.js';
import { kombuScripts } from '../../libs/nestjs-celery/src/transport/redis/broker/redis-scripts.js';
import { encodeUnackedEntry } from '../../libs/nestjs-celery/src/protocol/kombu-envelope.js';
import { createTaskMessage, type TaskHeaders } from '../../libs/nestjs-celery/src/protocol/task-message.js';
import { childConfig, fail, onStop, reply } from './child-support.js';

interface Config {
  mode: 'broker' | 'backend' | 'both' | 'publish' | 'rtt';
  broker: string;
  backend: string;
  queue: string;
  n: number;
  concurrency: number;
  inflight: number;
  /** backend mode: task ids are `${idPrefix}${i}` for i in 0..n-1 (the bench waits for the same) */
  idPrefix?: string;
  /** both mode, RabbitMQ: declare the queue first (the round trip floor's consumer starts on no queue) */
  declare?: boolean;
  /** rtt mode: untimed round trips before the n timed ones */
  warmup?: number;
}

const cfg = childConfig<Config>();
const RESULT_PREFIX = 'celery-task-meta-';
/** our Redis backend's MAX_STORES_PER_CALL and our Redis consumer's MAX_BATCH */
const STORES_PER_PIPELINE = 128;
const POP_BATCH = 100;
const EXPIRES_SECONDS = 3600;

/** A SUCCESS document as Celery's Redis backend stores it (the fields Python reads). */
function resultDoc(id: string, value: number): string {
  return `{"status": "SUCCESS", "result": ${value}, "traceback": null, "children": [], "date_done": "${new Date().toISOString()}", "task_id": "${id}"}`;
}

/** Stores results as our worker's backend does: what one turn finished goes out as one pipeline. */
class RawStore {
  private batch: { key: string; doc: string; done: () => void }[] = [];
  private scheduled = false;
  constructor(private readonly redis: Redis) {}

  store(id: string, value: number): Promise<void> {
    return new Promise((resolve) => {
      this.batch.push({ key: RESULT_PREFIX + id, doc: resultDoc(id, value), done: resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.batch;
    this.batch = [];
    for (let i = 0; i < all.length; i += STORES_PER_PIPELINE) {
      const chunk = all.slice(i, i + STORES_PER_PIPELINE);
      const p = this.redis.pipeline();
      for (const s of chunk) p.setex(s.key, EXPIRES_SECONDS, s.doc).publish(s.key, s.doc);
      p.exec().then(
        () => chunk.forEach((s) => s.done()),
        (e: unknown) => fail(e),
      );
    }
  }
}

/** Counts deliveries and times first → last on this process's clock, with its CPU time over the same span. */
class Tally {
  count = 0;
  first = 0;
  last = 0;
  private cpuAtFirst = 0;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((r) => (this.resolveDone = r));
  constructor(private readonly n: number) {}
  tick(): void {
    const now = performance.now();
    if (this.count++ === 0) {
      this.first = now;
      const c = process.cpuUsage();
      this.cpuAtFirst = c.user + c.system;
    }
    this.last = now;
    if (this.count === this.n) this.resolveDone();
  }
  report(): void {
    const c = process.cpuUsage();
    reply({ type: 'result', count: this.count, seconds: (this.last - this.first) / 1000, cpuUs: c.user + c.system - this.cpuAtFirst });
  }
}

/** The task's positional arguments from a Celery protocol 2 body: [args, kwargs, embed]. */
function addArgs(body: string): number {
  const [args] = JSON.parse(body) as [[number, number]];
  return args[0] + args[1];
}

async function consumeAmqp(store?: RawStore): Promise<() => Promise<void>> {
  const model = await connect(cfg.broker);
  const ch = await model.createChannel();
  if (cfg.declare) await ch.assertQueue(cfg.queue, { durable: true });
  await ch.prefetch(cfg.concurrency, false);
  const tally = new Tally(cfg.n);
  let pending: ConsumeMessage | undefined;
  let flushScheduled = false;
  // one `basic.ack multiple=true` for everything acked in the same job (a store batch's results), as our consumer sends
  const ack = (m: ConsumeMessage) => {
    if (!pending || m.fields.deliveryTag > pending.fields.deliveryTag) pending = m;
    if (flushScheduled) return;
    flushScheduled = true;
    queueMicrotask(() => {
      flushScheduled = false;
      if (pending) ch.ack(pending, true);
      pending = undefined;
    });
  };
  await ch.consume(
    cfg.queue,
    (m) => {
      if (!m) return;
      tally.tick();
      if (!store) return ack(m);
      // stores complete in delivery order (one connection), so a multiple ack covers only stored ones
      void store.store(String(m.properties.headers?.id), addArgs(m.content.toString())).then(() => ack(m));
    },
    { noAck: false },
  );
  void tally.done.then(() => setImmediate(() => tally.report()));
  return async () => {
    await ch.close().catch(() => undefined);
    await model.close().catch(() => undefined);
  };
}

async function consumeRedis(store?: RawStore): Promise<() => Promise<void>> {
  const pop = new Redis(cfg.broker, { connectionName: 'nestjs-celery-bench:ceiling-pop' });
  const main = new Redis(cfg.broker, { connectionName: 'nestjs-celery-bench:ceiling' });
  const db = Number(new URL(cfg.broker).pathname.slice(1) || 0);
  const keys = new KombuKeys('', db);
  const scripts = kombuScripts(pop);
  const popKeys = [keys.unacked, keys.unackedIndex, ...keys.brpopKeys([cfg.queue])];
  const tally = new Tally(cfg.n);
  let unsettled = 0;
  let wake: (() => void) | undefined;
  let acks: string[] = [];
  const ack = (tag: string) => {
    // the slot is free at once, as our consumer's settle(); the ZREM/HDEL follows at the turn's end
    unsettled--;
    wake?.();
    acks.push(tag);
    if (acks.length > 1) return;
    // kombu's QoS.ack (ZREM + HDEL) for every tag of this turn at once, as our ack emulation does
    setImmediate(() => {
      const tags = acks;
      acks = [];
      main
        .pipeline()
        .zrem(keys.unackedIndex, ...tags)
        .hdel(keys.unacked, ...tags)
        .exec()
        .catch(fail);
    });
  };
  let stopped = false;
  const loop = async () => {
    while (!stopped && tally.count < cfg.n) {
      const free = cfg.concurrency - unsettled;
      if (free <= 0) {
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const out = await scripts.popAndRecord(popKeys, Math.min(free, POP_BATCH), true, 1, 4);
      if (out.length === 0) {
        // nothing waiting: block as our consumer does, and record what wakes it as kombu does
        const popped = await pop.brpop(...keys.brpopKeys([cfg.queue]), 1).catch(() => null);
        if (!popped) continue;
        const { properties } = JSON.parse(popped[1]) as { properties: { delivery_tag: string } };
        const tag = properties.delivery_tag;
        void main
          .pipeline()
          .zadd(keys.unackedIndex, Date.now() / 1000, tag)
          .hset(keys.unacked, tag, encodeUnackedEntry(popped[1], '', cfg.queue))
          .exec()
          .catch(fail);
        out.push('1', popped[1], tag);
      }
      for (let i = 0; i < out.length; i += 3) {
        const raw = out[i + 1];
        const tag = out[i + 2];
        unsettled++;
        tally.tick();
        if (!store) {
          ack(tag);
          continue;
        }
        const envelope = JSON.parse(raw) as { body: string; headers: { id: string } };
        void store.store(envelope.headers.id, addArgs(Buffer.from(envelope.body, 'base64').toString())).then(() => ack(tag));
      }
    }
  };
  void loop().catch(fail);
  void tally.done.then(() => setImmediate(() => tally.report()));
  return async () => {
    stopped = true;
    wake?.();
    pop.disconnect();
    await main.quit().catch(() => undefined);
  };
}

async function storeOnly(redis: Redis): Promise<void> {
  const store = new RawStore(redis);
  let next = 0;
  // `concurrency` stores in flight, as many as our worker has tasks running
  const lane = async () => {
    while (next < cfg.n) {
      const i = next++;
      await store.store(`${cfg.idPrefix}${i}`, i + 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.concurrency, cfg.n) }, lane));
}

/**
 * A Celery protocol 2 message as the bench's clients send it (the protocol's own builder). Built
 * before the clock starts, so the ceiling charges the broker, not the message's construction.
 */
function taskMessage(i: number): { body: string; headers: TaskHeaders } {
  const { headers, body } = createTaskMessage({ id: `ceiling-${process.pid}-${i}`, task: 'bench.add', args: [i, 1], replyTo: '' });
  return { body: JSON.stringify(body), headers };
}

const taskMessages = () => Array.from({ length: cfg.n }, (_, i) => taskMessage(i));

async function publishAmqp(): Promise<number> {
  const model = await connect(cfg.broker);
  const ch = await model.createConfirmChannel();
  await ch.assertQueue(cfg.queue, { durable: true });
  const messages = taskMessages();
  const started = performance.now();
  let sent = 0;
  let confirmed = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (sent < cfg.n && sent - confirmed < cfg.inflight) {
        const { body, headers } = messages[sent++];
        ch.publish('', cfg.queue, Buffer.from(body), { headers, contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2 }, (err) => {
          if (err) return reject(err);
          if (++confirmed === cfg.n) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  const seconds = (performance.now() - started) / 1000;
  await model.close();
  return seconds;
}

/** A task message in kombu's Redis envelope, as Python's client LPUSHes it. */
function kombuEnvelope({ body, headers }: { body: string; headers: TaskHeaders }, deliveryTag: string): string {
  return JSON.stringify({
    body: Buffer.from(body).toString('base64'),
    'content-encoding': 'utf-8',
    'content-type': 'application/json',
    headers,
    properties: {
      correlation_id: headers.id,
      reply_to: '',
      delivery_mode: 2,
      delivery_info: { exchange: '', routing_key: cfg.queue },
      priority: 0,
      body_encoding: 'base64',
      delivery_tag: deliveryTag,
    },
  });
}

async function publishRedis(): Promise<number> {
  const redis = new Redis(cfg.broker, { connectionName: 'nestjs-celery-bench:ceiling-publish' });
  const messages = taskMessages();
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < cfg.n) {
      const p = redis.pipeline();
      for (const end = Math.min(cfg.n, next + 100); next < end; next++) {
        p.lpush(cfg.queue, kombuEnvelope(messages[next], `tag-${process.pid}-${next}`));
      }
      await p.exec();
    }
  };
  // `inflight` messages outstanding, as our client's publish runs
  await Promise.all(Array.from({ length: Math.max(1, Math.floor(cfg.inflight / 100)) }, lane));
  const seconds = (performance.now() - started) / 1000;
  await redis.quit();
  return seconds;
}

/**
 * The round trip floor's client: `warmup` + n tasks one at a time; per task the result key is
 * subscribed and the message published in the same turn, and a GET once subscribed catches a
 * result stored before the SUBSCRIBE landed. Latency: before the publish → the result parsed.
 */
async function roundTrips(amqp: boolean): Promise<{ latenciesMs: number[]; ids: string[] }> {
  const sub = new Redis(cfg.backend, { connectionName: 'nestjs-celery-bench:ceiling-rtt-sub' });
  const get = new Redis(cfg.backend, { connectionName: 'nestjs-celery-bench:ceiling-rtt' });
  const waiting = new Map<string, (doc: string) => void>();
  sub.on('message', (channel: string, doc: string) => waiting.get(channel)?.(doc));
  let send: (i: number, message: { body: string; headers: TaskHeaders }) => void;
  let close: () => Promise<void>;
  if (amqp) {
    const model = await connect(cfg.broker);
    const ch = await model.createChannel();
    send = (_i, { body, headers }) =>
      void ch.publish('', cfg.queue, Buffer.from(body), { headers, contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2 });
    close = () => model.close();
  } else {
    const lpush = new Redis(cfg.broker, { connectionName: 'nestjs-celery-bench:ceiling-rtt-publish' });
    send = (i, message) => void lpush.lpush(cfg.queue, kombuEnvelope(message, `tag-${process.pid}-${i}`)).catch(fail);
    close = async () => void (await lpush.quit());
  }
  const warmup = cfg.warmup ?? 0;
  const messages = Array.from({ length: warmup + cfg.n }, (_, i) => taskMessage(i));
  const latenciesMs: number[] = [];
  for (let i = 0; i < messages.length; i++) {
    const key = RESULT_PREFIX + messages[i].headers.id;
    const started = performance.now();
    const doc = await new Promise<string>((resolve) => {
      waiting.set(key, resolve);
      sub.subscribe(key).then(() => get.get(key).then((stored) => stored !== null && resolve(stored)), fail);
      send(i, messages[i]);
    });
    const elapsed = performance.now() - started;
    waiting.delete(key);
    void sub.unsubscribe(key);
    const { result } = JSON.parse(doc) as { result: number };
    if (result !== i + 1) throw new Error(`round trip ${i}: the result is ${JSON.stringify(result)}, not ${i + 1}`);
    if (i >= warmup) latenciesMs.push(elapsed);
  }
  await close();
  sub.disconnect();
  await get.quit();
  return { latenciesMs, ids: messages.map((m) => m.headers.id) };
}

async function main(): Promise<void> {
  const amqp = cfg.broker.startsWith('amqp');
  if (cfg.mode === 'rtt') {
    reply({ type: 'result', ...(await roundTrips(amqp)) });
    onStop(async () => undefined);
    return;
  }
  if (cfg.mode === 'publish') {
    const seconds = await (amqp ? publishAmqp() : publishRedis());
    reply({ type: 'result', seconds });
    onStop(async () => undefined);
    return;
  }
  const backend = cfg.mode === 'broker' ? undefined : new Redis(cfg.backend, { connectionName: 'nestjs-celery-bench:ceiling-backend' });
  let close: () => Promise<void> = async () => undefined;
  onStop(async () => {
    await close();
    await backend?.quit().catch(() => undefined);
  });
  if (cfg.mode === 'backend') {
    reply({ type: 'ready' });
    await storeOnly(backend!);
    return;
  }
  const store = backend && new RawStore(backend);
  close = await (amqp ? consumeAmqp(store) : consumeRedis(store));
  reply({ type: 'ready' });
}

main().catch(fail);
