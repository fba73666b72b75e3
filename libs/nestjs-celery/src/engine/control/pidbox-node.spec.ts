/** PidboxNode's bounds on what a remote-control message controls (issue 12), on a fake broker. */
import * as zlib from 'node:zlib';
import type { CeleryLogger } from '../../common/logger.js';
import type { Broker, Delivery, DeliveryHandler, TransportMessage } from '../../transport/broker.interface.js';
import { LamportClock } from '../events/lamport-clock.js';
import { PidboxNode, type ControlHandler } from './pidbox-node.js';

function harness(options: { maxMessageBytes?: number; maxReplyExchanges?: number } = {}) {
  const lines: string[] = [];
  const logger: CeleryLogger = { log: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  const declared: string[] = [];
  const published: { message: TransportMessage; exchange: string }[] = [];
  let handler: DeliveryHandler | undefined;
  const broker = {
    kind: 'memory',
    declareExchange: async (x: { name: string }) => void declared.push(x.name),
    declareQueue: async () => undefined,
    consume: async (_q: string[], _o: unknown, h: DeliveryHandler) => {
      handler = h;
      return { cancel: async () => undefined };
    },
    publish: async (message: TransportMessage, route: { exchange: string }) => void published.push({ message, exchange: route.exchange }),
  } as unknown as Broker;
  const calls: Record<string, unknown>[] = [];
  const handlers = new Map<string, ControlHandler>([['ping', (args) => (calls.push(args), { ok: 'pong' })]]);
  const node = new PidboxNode({ broker, clock: new LamportClock(), publishDirect: (_what, message, route) => broker.publish(message, route) }, handlers, {
    hostname: 'nestjs@h',
    logger,
    ...options,
  });
  const deliver = async (body: Buffer, headers: Record<string, unknown> = {}) => {
    const delivery = {
      message: { body, contentType: 'application/json', contentEncoding: 'utf-8', headers, properties: {} },
      deliveryInfo: { exchange: 'celery.pidbox', routingKey: '', queue: node.queueName, redelivered: false },
      ack: async () => undefined,
      reject: async () => undefined,
    } as Delivery;
    handler!(delivery);
    await node.stop(); // waits for the request in flight
  };
  return { node, lines, declared, published, calls, deliver };
}

const request = (extra: Record<string, unknown> = {}) =>
  Buffer.from(
    JSON.stringify({
      method: 'ping',
      arguments: {},
      destination: null,
      pattern: null,
      matcher: null,
      ticket: 't',
      reply_to: { exchange: 'reply.celery.pidbox', routing_key: 'oid' },
      ...extra,
    }),
  );

describe('PidboxNode bounds', () => {
  test('a request over controlMaxMessageBytes is dropped with one log line, before decoding', async () => {
    const h = harness({ maxMessageBytes: 1024 });
    await h.node.start();
    await h.deliver(request({ arguments: { pad: 'x'.repeat(2000) } }));
    expect(h.calls).toHaveLength(0);
    expect(h.lines).toEqual([expect.stringMatching(/dropped a remote-control message of \d+ bytes .*over the 1024-byte limit \(controlMaxMessageBytes\)/)]);
  });

  test('a compressed request inflating past the limit is refused without inflating it (decompression bomb)', async () => {
    const h = harness({ maxMessageBytes: 64 * 1024 });
    await h.node.start();
    const bomb = zlib.deflateSync(request({ arguments: { pad: ' '.repeat(8 * 1024 * 1024) } }));
    expect(bomb.length).toBeLessThan(64 * 1024);
    await h.deliver(bomb, { compression: 'application/x-gzip' });
    expect(h.calls).toHaveLength(0);
    expect(h.lines.join('\n')).toMatch(/cannot decode a remote-control message: .*exceeds the limit of 65536 bytes/);
  });

  test('the default limit applies when none is configured (8 MiB)', async () => {
    const h = harness();
    await h.node.start();
    await h.deliver(zlib.deflateSync(request({ arguments: { pad: ' '.repeat(9 * 1024 * 1024) } })), { compression: 'zlib' });
    expect(h.calls).toHaveLength(0);
    expect(h.lines.join('\n')).toMatch(/exceeds the limit of 8388608 bytes/);
  });

  test('reply exchanges a request names are declared at most maxReplyExchanges besides reply.celery.pidbox', async () => {
    const h = harness({ maxReplyExchanges: 2 });
    await h.node.start();
    for (const exchange of ['reply.celery.pidbox', 'x1', 'x2', 'x3', 'x4', 'reply.celery.pidbox', 'x1']) {
      await h.node.handle({
        method: 'ping',
        arguments: {},
        destination: null,
        pattern: null,
        matcher: null,
        ticket: 't',
        reply_to: { exchange, routing_key: 'oid' },
      });
    }
    expect(h.declared.filter((n) => n !== 'celery.pidbox')).toEqual(['reply.celery.pidbox', 'x1', 'x2']);
    expect(h.published.map((p) => p.exchange)).toEqual(['reply.celery.pidbox', 'x1', 'x2', 'reply.celery.pidbox', 'x1']);
    expect(h.lines.filter((l) => l.includes('maxReplyExchanges'))).toHaveLength(2);
  });

  test('a destination glob that backtracked for 37 s is answered at once (not addressed)', async () => {
    const h = harness();
    await h.node.start();
    const reply = await h.node.handle({ method: 'ping', arguments: {}, destination: null, pattern: '*'.repeat(14) + 'X', matcher: 'glob' });
    expect(reply).toBeUndefined();
    expect(h.calls).toHaveLength(0);
  }, 60_000);
});
