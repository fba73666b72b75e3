/**
 * Fuzz: the AMQP content-header reader (transport/amqp/amqp-content-header.ts), which reads every
 * delivery's properties and headers straight from the socket. Frames amqplib encodes from
 * generated properties, mutated; plus raw random frames and the 10,000-nested-arrays bomb.
 * Defined outcome: a frame (headers plain, or marked unreadable with a reason) or `undefined`
 * (left to amqplib); never a throw, which would close the connection.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { readContentHeader, unreadableHeaders } from '../../libs/nestjs-celery/src/transport/amqp/amqp-content-header.js';
import { encodeAmqpTable } from '../../libs/nestjs-celery/src/transport/amqp/amqp-headers.js';
import { nestedHeaderFrame } from './bombs.js';
import { FC_OPTIONS, FUZZ_TIMEOUT_MS, heapGrowth, mutated, wireValue } from './support.js';

const require = createRequire(import.meta.url);
const defs = require(join(dirname(require.resolve('amqplib')), 'lib', 'defs.js')) as {
  BasicProperties: number;
  encodeProperties(id: number, channel: number, size: number, fields: Record<string, unknown>): Buffer;
};
const MAX_FRAME = 131_072;

const headers = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 20 }).filter((k) => k !== '!' && k !== '__proto__'),
  wireValue,
  { maxKeys: 20 },
);
const frames = fc
  .record(
    {
      contentType: fc.constantFrom('application/json', 'application/x-msgpack', 'application/x-yaml', ''),
      contentEncoding: fc.constantFrom('utf-8', 'binary'),
      headers,
      deliveryMode: fc.constantFrom(1, 2),
      priority: fc.integer({ min: 0, max: 255 }),
      correlationId: fc.uuid(),
      replyTo: fc.string({ maxLength: 40 }),
      expiration: fc.constantFrom('1000', '60000'),
      timestamp: fc.nat(),
    },
    { requiredKeys: [] },
  )
  .map((fields) => {
    const f: Record<string, unknown> = { ...fields };
    try {
      if (fields.headers) f.headers = encodeAmqpTable(fields.headers);
    } catch {
      delete f.headers; // a key our publisher refuses ('!'): a frame without headers then
    }
    return defs.encodeProperties(defs.BasicProperties, 1, 10, f);
  });

/** The outcome contract, checked on every case. */
function check(bytes: Buffer, limits = { maxDepth: 32, maxValues: 10_000 }): void {
  const read = readContentHeader(bytes, MAX_FRAME, limits);
  if (!read) return;
  expect(read.length).toBeLessThanOrEqual(bytes.length);
  expect(read.frame.id).toBe(60);
  const h = read.frame.fields.headers;
  if (h !== undefined) {
    expect(typeof h).toBe('object');
    const problem = unreadableHeaders.get(h as object);
    if (problem !== undefined) expect(problem).toMatch(/nested deeper|more than \d+ values|malformed/);
  }
}

describe('fuzz: AMQP content-header reader', () => {
  test(
    'mutated frames of generated properties: a frame or undefined, never a throw',
    async () => {
      const growth = await heapGrowth(() =>
        fc.assert(
          fc.property(mutated(frames), (bytes) => check(bytes)),
          FC_OPTIONS,
        ),
      );
      expect(growth).toBeLessThan(256 * 1024 * 1024);
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'raw header frames with random property bytes, and tight bounds',
    () => {
      const raw = fc.uint8Array({ maxLength: 400 }).map((payload) => {
        const props = Buffer.concat([Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10]), Buffer.from(payload)]);
        const prefix = Buffer.from([2, 0, 1, 0, 0, 0, 0]);
        prefix.writeUInt32BE(props.length, 3);
        return Buffer.concat([prefix, props, Buffer.from([0xce])]);
      });
      fc.assert(
        fc.property(raw, fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 50 }), (bytes, maxDepth, maxValues) =>
          check(bytes, { maxDepth, maxValues }),
        ),
        FC_OPTIONS,
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test('the known bomb: 10,000 nested arrays, and nesting at every depth around the bound', () => {
    for (const depth of [1, 2, 31, 32, 33, 100, 10_000, 25_000]) {
      const read = readContentHeader(nestedHeaderFrame(depth, 'bomb-id'), MAX_FRAME * 2);
      expect(read).toBeDefined();
      const h = read!.frame.fields.headers as Record<string, unknown>;
      expect(h.id).toBe('bomb-id');
      expect(unreadableHeaders.has(h)).toBe(depth > 32);
    }
  });
});
