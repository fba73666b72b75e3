/**
 * RedisBroker ↔ real Python kombu (of each Celery peer: 5.2, 5.5, 5.6) on the same Redis: messages both ways, topic bindings
 * written by Python, broadcasts both ways, and crash recovery through the shared unacked hash in
 * both directions. The Python side is test/broker/redis-kombu-peer.py.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TransportMessage } from '../../libs/nestjs-celery/src/transport/broker.interface.js';
import { pythonPathFor, type CeleryVersion } from '../support/peers.js';
import { peerSuites } from '../support/python.js';
import { PYTHON, REDIS_URL, uniqueName } from '../support/services.js';
import { Inbox, RedisSandbox, sleep, taskMessage } from './redis-support.js';

const PEERS = await peerSuites('redis broker ↔ Python kombu', 'redis');
const PEER = join(dirname(fileURLToPath(import.meta.url)), 'redis-kombu-peer.py');

interface PythonMessage {
  body_b64: string;
  content_type: string;
  content_encoding: string;
  headers: Record<string, unknown>;
  properties: Record<string, unknown>;
  delivery_info: { exchange: string; routing_key: string; redelivered: boolean | null };
  delivery_tag: string;
}

/** Run one peer command with that Celery peer's kombu; `onReady` fires when it prints READY (listen-fanout). */
function kombu<T>(version: CeleryVersion, args: string[], onReady?: () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [PEER, ...args], { env: { ...process.env, PYTHONPATH: pythonPathFor(version) } });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (onReady && out.startsWith('READY\n')) {
        out = out.slice(6);
        const ready = onReady;
        onReady = undefined;
        ready();
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`redis-kombu-peer ${args[0]} exited with ${code}:\n${err}`));
      try {
        resolve(JSON.parse(out) as T);
      } catch {
        reject(new Error(`redis-kombu-peer ${args[0]} printed no JSON: ${out}\n${err}`));
      }
    });
  });
}

/** A Celery-shaped message as Python would publish it (headers of Celery 5.2 as_task_v2). */
function celeryLike(id: string) {
  return {
    body_b64: Buffer.from('[[2, 2], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]').toString('base64'),
    content_type: 'application/json',
    content_encoding: 'utf-8',
    headers: {
      lang: 'py',
      task: 'tests.add',
      id,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [30, null],
      root_id: id,
      parent_id: null,
      argsrepr: '(2, 2)',
      kwargsrepr: '{}',
      origin: 'gen1@host',
      ignore_result: false,
    },
    properties: { correlation_id: id, reply_to: 'python-oid' },
    priority: 6,
  };
}

for (const { version, describe: describeInterop } of PEERS)
  describeInterop(`RedisBroker ↔ Python kombu of Celery ${version}`, () => {
    const peer = <T = unknown>(args: string[], onReady?: () => void) => kombu<T>(version, args, onReady);
    let sandbox: RedisSandbox;
    beforeEach(() => {
      sandbox = new RedisSandbox();
    });
    afterEach(() => sandbox.cleanup());

    it('consumes what Python kombu publishes: same body, headers, properties, priority list', async () => {
      const broker = await sandbox.broker();
      const queue = uniqueName('py2ts');
      const sent = celeryLike('py-task-1');
      await peer(['publish', REDIS_URL, sandbox.prefix, queue, JSON.stringify(sent)]);
      expect(await sandbox.redis.llen(sandbox.key(`${queue}\x06\x166`))).toBe(1);

      const inbox = new Inbox();
      await broker.consume([queue], { prefetch: 1 }, inbox.handler);
      const [d] = await inbox.next(1);
      expect(d.transportError).toBeUndefined();
      expect(d.message.body.toString('base64')).toBe(sent.body_b64);
      expect(d.message.headers).toEqual(sent.headers);
      expect(d.message.contentType).toBe('application/json');
      expect(d.message.contentEncoding).toBe('utf-8');
      expect(d.message.properties).toEqual({
        correlationId: 'py-task-1',
        replyTo: 'python-oid',
        deliveryMode: 2,
        priority: 6,
      });
      expect(d.deliveryInfo).toMatchObject({ exchange: '', routingKey: queue, queue, redelivered: false });
      await d.ack();
    });

    it('publishes what Python kombu consumes: same body, headers, properties', async () => {
      const broker = await sandbox.broker();
      const queue = uniqueName('ts2py');
      const msg: TransportMessage = taskMessage('ts-task-1', {
        headers: { lang: 'py', task: 'tests.add', id: 'ts-task-1', timelimit: [null, 10], retries: 1, note: 'ünïcode ✓' },
        properties: { correlationId: 'ts-task-1', replyTo: 'ts-oid', deliveryMode: 2, priority: 3, expiration: '5000' },
      });
      await broker.publish(msg, { exchange: '', routingKey: queue });
      const [got] = await peer<PythonMessage[]>(['consume', REDIS_URL, sandbox.prefix, queue, '1']);
      expect(Buffer.from(got.body_b64, 'base64').equals(msg.body)).toBe(true);
      expect(got.headers).toEqual(msg.headers);
      expect(got.content_type).toBe('application/json');
      expect(got.content_encoding).toBe('utf-8');
      expect(got.properties).toMatchObject({
        correlation_id: 'ts-task-1',
        reply_to: 'ts-oid',
        delivery_mode: 2,
        priority: 3,
        expiration: '5000',
        body_encoding: 'base64',
        delivery_info: { exchange: '', routing_key: queue },
      });
      expect(got.delivery_tag).toMatch(/^[0-9a-f-]{36}$/);
      expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(0); // Python acked it
    });

    it('writes envelopes byte for byte as kombu does for the same message', async () => {
      const broker = await sandbox.broker();
      const queue = uniqueName('bytes');
      const base = celeryLike('same-bytes');
      const headers: Record<string, unknown> = { ...base.headers, argsrepr: "('ünï', 1.5)", eta: '2024-05-01T10:00:05.123456+00:00' };
      const spec = { ...base, headers, expiration_s: 12.5 };
      const msg: TransportMessage = {
        body: Buffer.from(spec.body_b64, 'base64'),
        contentType: spec.content_type,
        contentEncoding: spec.content_encoding,
        headers: spec.headers,
        properties: { correlationId: 'same-bytes', replyTo: 'python-oid', priority: 6, expiration: '12500' },
      };
      await broker.publish(msg, { exchange: '', routingKey: queue });
      const [ours] = await sandbox.redis.lrange(sandbox.key(`${queue}\x06\x166`), 0, -1);
      const tag = (JSON.parse(ours) as { properties: { delivery_tag: string } }).properties.delivery_tag;
      const { text } = await peer<{ text: string }>(['envelope', REDIS_URL, queue, tag, JSON.stringify(spec)]);
      expect(ours).toBe(text);
    });

    it('routes through a topic binding Python declared (kombu regex patterns)', async () => {
      const broker = await sandbox.broker();
      const [exchange, queue] = [uniqueName('pytopic'), uniqueName('pytopic-q')];
      await peer(['declare', REDIS_URL, sandbox.prefix, exchange, 'topic', queue, 'jobs.*.high']);
      await broker.declareExchange({ name: exchange, type: 'topic' });
      await broker.publish(taskMessage('hit'), { exchange, routingKey: 'jobs.video.high' });
      await broker.publish(taskMessage('miss'), { exchange, routingKey: 'jobs.video.low' });
      const got = await peer<PythonMessage[]>(['consume', REDIS_URL, sandbox.prefix, queue, '1']);
      expect(got.map((m) => m.headers.id)).toEqual(['hit']);
      expect(await sandbox.redis.llen(sandbox.key(queue))).toBe(0);

      // and the other way: Python publishes through the same exchange, we consume
      await peer(['publish-exchange', REDIS_URL, sandbox.prefix, exchange, 'topic', 'jobs.audio.high', JSON.stringify(celeryLike('py-topic'))]);
      const inbox = new Inbox();
      await broker.consume([queue], { prefetch: 1 }, inbox.handler);
      const [d] = await inbox.next(1);
      expect(d.message.headers.id).toBe('py-topic');
      expect(d.deliveryInfo).toMatchObject({ exchange, routingKey: 'jobs.audio.high' });
      await d.ack();
    });

    it('broadcasts both ways on fanout exchanges (pidbox-style)', async () => {
      const broker = await sandbox.broker();
      const exchange = uniqueName('pybcast');
      await broker.declareExchange({ name: exchange, type: 'fanout', durable: false });

      // ours → Python's PSUBSCRIBE
      const listening = peer<PythonMessage[]>(['listen-fanout', REDIS_URL, sandbox.prefix, exchange, uniqueName('pyq'), '', '1'], () => {
        void broker.publish(taskMessage('to-python'), { exchange, routingKey: '' });
      });
      const [heard] = await listening;
      expect(heard.headers.id).toBe('to-python');
      expect(heard.delivery_info).toMatchObject({ exchange, routing_key: '' });

      // Python's PUBLISH → ours
      const queue = uniqueName('tsq');
      await broker.declareQueue({ name: queue, exchange, exchangeType: 'fanout', routingKey: '', autoDelete: true });
      const inbox = new Inbox();
      await broker.consume([queue], { prefetch: 1, noAck: true }, inbox.handler);
      await peer(['publish-exchange', REDIS_URL, sandbox.prefix, exchange, 'fanout', '', JSON.stringify(celeryLike('from-python'))]);
      const [d] = await inbox.next(1);
      expect(d.message.headers.id).toBe('from-python');
      expect(d.deliveryInfo).toMatchObject({ exchange, queue });
    });

    it("Python's restore_visible brings back a delivery we never acked", async () => {
      const crashed = await sandbox.broker();
      const queue = uniqueName('py-restores');
      await crashed.publish(taskMessage('ours-lost'), { exchange: '', routingKey: queue });
      const held = new Inbox();
      const consumer = await crashed.consume([queue], { prefetch: 1 }, held.handler);
      await held.next(1);
      await consumer.cancel(); // never acked, never closed: a dead worker's entry
      expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(1);

      await sleep(1100);
      await peer(['restore', REDIS_URL, sandbox.prefix, '1']);
      expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(0);
      const [got] = await peer<PythonMessage[]>(['consume', REDIS_URL, sandbox.prefix, queue, '1']);
      expect(got.headers.id).toBe('ours-lost');
      expect(got.headers.redelivered).toBe(true);
      expect(got.delivery_info.redelivered).toBe(true);
    });

    it('our restore brings back a message a Python consumer took and died with', async () => {
      const queue = uniqueName('ts-restores');
      const publisher = await sandbox.broker();
      await publisher.publish(taskMessage('python-lost'), { exchange: '', routingKey: queue });
      const taken = await peer<PythonMessage>(['take-and-die', REDIS_URL, sandbox.prefix, queue]);
      expect(taken.headers.id).toBe('python-lost');
      expect(await sandbox.redis.hexists(sandbox.key('unacked'), taken.delivery_tag)).toBe(1);
      expect(await sandbox.redis.llen(sandbox.key(queue))).toBe(0);

      const rescuer = await sandbox.broker({ visibilityTimeoutSeconds: 1, restoreIntervalSeconds: 0.25 });
      const inbox = new Inbox();
      await rescuer.consume([queue], { prefetch: 1 }, inbox.handler);
      const [d] = await inbox.next(1);
      expect(d.message.headers.id).toBe('python-lost');
      expect(d.deliveryInfo.redelivered).toBe(true);
      expect(d.deliveryInfo.deliveryTag).toBe(taken.delivery_tag);
      await d.ack();
      expect(await sandbox.redis.hlen(sandbox.key('unacked'))).toBe(0);
    });
  });
