import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { installContentHeaderReader, plainHeaderTables, readContentHeader, unreadableHeaders } from './amqp-content-header.js';
import { decodeAmqpTable, encodeAmqpTable } from './amqp-headers.js';

// amqplib's own frame codec, the reference this reader must agree with (its package exports
// hide lib/, so it is required by path)
const require = createRequire(import.meta.url);
const amqplibDir = dirname(require.resolve('amqplib'));
const defs = require(join(amqplibDir, 'lib', 'defs.js')) as {
  BasicProperties: number;
  encodeProperties(id: number, channel: number, size: number, fields: Record<string, unknown>): Buffer;
};
const frames = require(join(amqplibDir, 'lib', 'frame.js')) as {
  parseFrame(buf: Buffer, max: number): { rest: Buffer } | false;
  decodeFrame(frame: unknown): { id: number; channel: number; size: number; fields: Record<string, unknown> };
};

const MAX_FRAME = 131_072;

/** What amqplib decodes, then our decodeAmqpTable pass: what the consumer used to see. */
function viaAmqplib(buf: Buffer) {
  const parsed = frames.parseFrame(buf, MAX_FRAME);
  if (!parsed) throw new Error('incomplete frame');
  const frame = frames.decodeFrame(parsed);
  if (frame.fields.headers) frame.fields.headers = decodeAmqpTable(frame.fields.headers as Record<string, unknown>);
  return { frame, rest: parsed.rest };
}

function encode(fields: Record<string, unknown>, channel = 1, bodySize = 10): Buffer {
  return defs.encodeProperties(defs.BasicProperties, channel, bodySize, fields);
}

/** Header values our publisher writes (amqp-headers.ts encodeAmqpTable), nested. */
const headerValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.integer(),
    fc.integer({ min: 2 ** 31, max: Number.MAX_SAFE_INTEGER }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.boolean(),
    fc.constant(null),
    fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '!' && k !== '__proto__'),
      tie('value'),
      { maxKeys: 4 },
    ),
  ),
})).value;

const headersTable = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 20 }).filter((k) => k !== '!' && k !== '__proto__'),
  headerValue,
  { maxKeys: 25 },
);

const shortString = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });
const properties = fc.record(
  {
    contentType: shortString,
    contentEncoding: shortString,
    headers: headersTable,
    deliveryMode: fc.constantFrom(1, 2),
    priority: fc.integer({ min: 0, max: 255 }),
    correlationId: shortString,
    replyTo: shortString,
    expiration: fc.integer({ min: 0, max: 1e9 }).map(String),
    messageId: shortString,
    timestamp: fc.integer({ min: 0, max: 2 ** 40 }),
    type: shortString,
    userId: shortString,
    appId: shortString,
  },
  { requiredKeys: [] },
);

describe('readContentHeader', () => {
  it('decodes every header frame our publisher writes exactly as amqplib + decodeAmqpTable did', () => {
    fc.assert(
      fc.property(properties, fc.integer({ min: 0, max: 65_535 }), fc.integer({ min: 0, max: 2 ** 40 }), (props, channel, bodySize) => {
        const fields: Record<string, unknown> = { ...props };
        if (props.headers) fields.headers = encodeAmqpTable(props.headers);
        const buf = encode(fields, channel, bodySize);
        const expected = viaAmqplib(buf);
        const ours = readContentHeader(buf, MAX_FRAME);
        expect(ours).toBeDefined();
        expect(ours!.length).toBe(buf.length);
        expect(ours!.frame).toEqual(expected.frame);
      }),
      { numRuns: 300 },
    );
  });

  it('marks the headers it decodes as plain, so decodeAmqpTable hands them back untouched', () => {
    const buf = encode({ contentType: 'application/json', headers: encodeAmqpTable({ task: 'add', when: new Date(1_700_000_000_000) }) });
    const headers = readContentHeader(buf, MAX_FRAME)!.frame.fields.headers as Record<string, unknown>;
    expect(plainHeaderTables.has(headers)).toBe(true);
    expect(decodeAmqpTable(headers)).toBe(headers);
    expect(headers.when).toEqual(new Date(1_700_000_000_000));
  });

  it("reads py-amqp's L wherever it sits (top level, arrays, nested tables), and nothing that only looks like it", () => {
    const entries = Buffer.concat([
      Buffer.from([3]),
      Buffer.from('big'),
      Buffer.from('L'),
      int64(2n ** 40n),
      Buffer.from([5]),
      Buffer.from('label'),
      Buffer.from('S'),
      int32(10),
      Buffer.from('L-shaped L'),
      Buffer.from([5]),
      Buffer.from('small'),
      Buffer.from('I'),
      int32(-5),
      Buffer.from([4]),
      Buffer.from('list'),
      Buffer.from('A'),
      int32(5 + 9 + 6),
      Buffer.from('I'),
      int32(1),
      Buffer.from('L'),
      int64(-(2n ** 40n)),
      Buffer.from('S'),
      int32(1),
      Buffer.from('L'),
      Buffer.from([6]),
      Buffer.from('nested'),
      Buffer.from('F'),
      int32(1 + 4 + 9),
      Buffer.from([4]),
      Buffer.from('deep'),
      Buffer.from('L'),
      int64(2n ** 62n),
    ]);
    const headers = readContentHeader(rawHeaderFrame(entries), MAX_FRAME)!.frame.fields.headers;
    expect(headers).toEqual({ big: 2 ** 40, label: 'L-shaped L', small: -5, list: [1, -(2 ** 40), 'L'], nested: { deep: 2 ** 62 } });
  });

  it("reads py-amqp's signed 64-bit L and signed decimal digits, which amqplib cannot", () => {
    const entries = Buffer.concat([
      Buffer.from([3]),
      Buffer.from('neg'),
      Buffer.from('L'),
      int64(-(2n ** 40n)),
      Buffer.from([3]),
      Buffer.from('dec'),
      Buffer.from('D'),
      Buffer.from([2]),
      int32(-1234),
    ]);
    const buf = rawHeaderFrame(entries);
    const headers = readContentHeader(buf, MAX_FRAME)!.frame.fields.headers as Record<string, unknown>;
    expect(headers).toEqual({ neg: -(2 ** 40), dec: -12.34 });
  });

  it('decodes non-ASCII keys and values as UTF-8 next to ASCII ones', () => {
    const headers = { task: 'add', ключ: 'значение ✓ 𝄞', argsrepr: '(1, 2)' };
    const buf = encode({ contentType: 'application/json', replyTo: 'réponse', headers: encodeAmqpTable(headers) });
    const fields = readContentHeader(buf, MAX_FRAME)!.frame.fields;
    expect(fields.headers).toEqual(headers);
    expect(fields.replyTo).toBe('réponse');
  });

  it('reads each table its own keys when tables in a row differ at the same positions (keys are remembered by position)', () => {
    // same lengths with other bytes, a key that is a prefix of the one before, non-ASCII where ASCII was and back, a nested table
    const tables: Record<string, unknown>[] = [
      { lang: 'py', task: 'add', id: '1' },
      { lang: 'py', task: 'add', id: '2' },
      { lanh: 'py', tasj: 'add', ie: '3' },
      { lan: 'py', task: 'add', id: '4', extra: 5 },
      { é: 'py', ÿ: 'add', id: '5' },
      { 'Ã©': 'py', task: 'add' },
      { lang: 'py', task: { lang: 'nested', é: 1 }, id: '6' },
      { lang: 'py' },
      {},
      { lang: 'py', task: 'add', id: '7' },
    ];
    for (const headers of tables) {
      const buf = encode({ contentType: 'application/json', headers: encodeAmqpTable(headers) });
      const read = readContentHeader(buf, MAX_FRAME)!.frame.fields.headers as Record<string, unknown>;
      expect(read).toEqual(viaAmqplib(buf).frame.fields.headers);
      expect(Object.keys(read)).toEqual(Object.keys(headers));
    }
  });

  it('keeps a header named __proto__ as a key', () => {
    const entries = Buffer.concat([Buffer.from([9]), Buffer.from('__proto__'), Buffer.from('I'), int32(5)]);
    const headers = readContentHeader(rawHeaderFrame(entries), MAX_FRAME)!.frame.fields.headers as Record<string, unknown>;
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.keys(headers)).toEqual(['__proto__']);
    expect(headers['__proto__']).toBe(5);
  });

  it('returns the empty object amqplib returns for a frame without properties', () => {
    const buf = encode({});
    expect(readContentHeader(buf, MAX_FRAME)!.frame.fields).toEqual(viaAmqplib(buf).frame.fields);
  });

  it('leaves to amqplib what it cannot read: other frames, partial frames, oversize', () => {
    const good = encode({ headers: encodeAmqpTable({ a: 'b' }) });
    expect(readContentHeader(good.subarray(0, good.length - 1), MAX_FRAME)).toBeUndefined();
    const method = Buffer.from(good);
    method[0] = 1;
    expect(readContentHeader(method, MAX_FRAME)).toBeUndefined();
    expect(readContentHeader(good, good.length - 9)).toBeUndefined();
    // a property frame from another class
    const otherClass = Buffer.from(good);
    otherClass.writeUInt16BE(50, 7);
    expect(readContentHeader(otherClass, MAX_FRAME)).toBeUndefined();
  });
});

describe('content-header reader bounds (poison headers refuse one message, not the connection)', () => {
  /** `depth` arrays nested in one another under the key `deep`, after an `id` header. */
  function nestedArrays(depth: number): Buffer {
    let inner = Buffer.alloc(0);
    for (let i = 0; i < depth; i++) inner = Buffer.concat([Buffer.from('A'), int32(inner.length), inner]);
    return rawHeaderFrame(
      Buffer.concat([Buffer.from([2]), Buffer.from('id'), Buffer.from('S'), int32(3), Buffer.from('t-1'), Buffer.from([4]), Buffer.from('deep'), inner]),
    );
  }

  it('10,000 nested arrays: the frame is read, the id kept, the headers marked unreadable (no RangeError)', () => {
    const read = readContentHeader(nestedArrays(10_000), MAX_FRAME);
    expect(read).toBeDefined();
    const headers = read!.frame.fields.headers as Record<string, unknown>;
    expect(headers.id).toBe('t-1');
    expect(unreadableHeaders.get(headers)).toMatch(/nested deeper than 32 levels \(maxHeaderDepth\)/);
  });

  it('headers within the bounds are not marked; the bounds are options', () => {
    const ok = readContentHeader(nestedArrays(31), MAX_FRAME)!.frame.fields.headers as object;
    expect(unreadableHeaders.has(ok)).toBe(false);
    const tight = readContentHeader(nestedArrays(31), MAX_FRAME, { maxDepth: 8, maxValues: 10_000 })!.frame.fields.headers as object;
    expect(unreadableHeaders.get(tight)).toMatch(/deeper than 8 levels/);
    const many = encode({ headers: encodeAmqpTable({ id: 'x', list: Array.from({ length: 200 }, (_, i) => i) }) });
    const counted = readContentHeader(many, MAX_FRAME, { maxDepth: 32, maxValues: 100 })!.frame.fields.headers as Record<string, unknown>;
    expect(unreadableHeaders.get(counted)).toMatch(/more than 100 values \(maxHeaderValues\)/);
    expect(counted.id).toBe('x');
  });

  it('an unknown tag or an overrun inside the headers table marks the headers, keeping what came before', () => {
    const unknownTag = rawHeaderFrame(
      Buffer.concat([Buffer.from([2]), Buffer.from('id'), Buffer.from('S'), int32(1), Buffer.from('x'), Buffer.from([1]), Buffer.from('z'), Buffer.from('Z')]),
    );
    const a = readContentHeader(unknownTag, MAX_FRAME)!.frame.fields.headers as Record<string, unknown>;
    expect(a).toEqual({ id: 'x' });
    expect(unreadableHeaders.get(a)).toMatch(/malformed/);
    const overrun = rawHeaderFrame(Buffer.concat([Buffer.from([1]), Buffer.from('s'), Buffer.from('S'), int32(1000), Buffer.from('abc')]));
    const b = readContentHeader(overrun, MAX_FRAME)!.frame.fields.headers as Record<string, unknown>;
    expect(unreadableHeaders.get(b)).toMatch(/malformed/);
  });

  it('the properties after an unreadable headers table are still read', () => {
    const frame = encode({ headers: { deep: [[[[['x']]]]] }, correlationId: 'c-1', deliveryMode: 2 });
    const fields = readContentHeader(frame, MAX_FRAME, { maxDepth: 2, maxValues: 100 })!.frame.fields;
    expect(fields).toMatchObject({ correlationId: 'c-1', deliveryMode: 2 });
    expect(unreadableHeaders.has(fields.headers as object)).toBe(true);
  });
});

describe('installContentHeaderReader', () => {
  it('reads a complete content-header frame itself, L values included, and consumes exactly that frame', () => {
    const tail = Buffer.from([1, 0, 1]);
    const seen: Buffer[] = [];
    const entries = Buffer.concat([Buffer.from([3]), Buffer.from('big'), Buffer.from('L'), int64(-(2n ** 40n))]);
    const connection = {
      rest: Buffer.concat([rawHeaderFrame(entries), tail]),
      recvFrame(this: { rest: Buffer }) {
        seen.push(Buffer.from(this.rest));
        return false;
      },
    };
    expect(installContentHeaderReader(connection)).toBe(true);
    const frame = connection.recvFrame() as unknown as { id: number; channel: number; size: number; fields: Record<string, unknown> };
    expect(frame).toMatchObject({ id: 60, channel: 1, size: 3, fields: { headers: { big: -(2 ** 40) } } });
    expect(seen).toHaveLength(0);
    expect(connection.rest.equals(tail)).toBe(true);
  });

  it('leaves every other frame, and a header frame it cannot read, to the original untouched', () => {
    const unreadable = rawHeaderFrame(Buffer.concat([Buffer.from([3]), Buffer.from('odd'), Buffer.from('Z123')]));
    // a headers length running past the frame: the frame's layout itself is broken
    unreadable.writeUInt32BE(1000, 7 + 14);
    const method = Buffer.from(unreadable);
    method[0] = 1;
    for (const bytes of [unreadable, method, unreadable.subarray(0, unreadable.length - 3)]) {
      const seen: Buffer[] = [];
      const connection = {
        rest: Buffer.from(bytes),
        recvFrame(this: { rest: Buffer }) {
          seen.push(Buffer.from(this.rest));
          return false;
        },
      };
      installContentHeaderReader(connection);
      expect(connection.recvFrame()).toBe(false);
      expect(seen).toHaveLength(1);
      expect(seen[0].equals(bytes)).toBe(true);
    }
  });

  it('declines objects that do not look like an amqplib connection', () => {
    expect(installContentHeaderReader({})).toBe(false);
    expect(installContentHeaderReader(null)).toBe(false);
  });
});

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function int64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
}

/** A basic content-header frame whose only property is a headers table with these entry bytes. */
function rawHeaderFrame(entries: Buffer): Buffer {
  const props = Buffer.alloc(14);
  props.writeUInt16BE(60, 0);
  props.writeBigUInt64BE(3n, 4);
  props.writeUInt16BE(0x2000, 12);
  const payload = Buffer.concat([props, int32(entries.length), entries]);
  const prefix = Buffer.alloc(7);
  prefix[0] = 2;
  prefix.writeUInt16BE(1, 1);
  prefix.writeUInt32BE(payload.length, 3);
  return Buffer.concat([prefix, payload, Buffer.from([0xce])]);
}
