import fc from 'fast-check';
import { AmqpHeaderError } from './amqp-errors.js';
import { decodeAmqpTable, encodeAmqpTable } from './amqp-headers.js';

const int = (value: number) => ({ '!': 'int', value });
const long = (value: number | bigint) => ({ '!': 'long', value });
const double = (value: number) => ({ '!': 'double', value });

/** What a reader gets back: amqplib's typed values carry their number in `value`. */
function unwrap(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === 'object' && !Buffer.isBuffer(v)) {
    if ('!' in v) return Number((v as unknown as { value: number | bigint }).value);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
  }
  return v;
}

describe('encodeAmqpTable', () => {
  it('types integers the way py-amqp reads them back: I within int32, l above, doubles below', () => {
    expect(encodeAmqpTable({ zero: 0, small: 5, neg: -5, short: -300, max: 2 ** 31 - 1, min: -(2 ** 31), big: 2 ** 40, negBig: -(2 ** 40) })).toEqual({
      zero: int(0),
      small: int(5),
      neg: int(-5),
      short: int(-300),
      max: int(2 ** 31 - 1),
      min: int(-(2 ** 31)),
      big: long(2 ** 40),
      negBig: double(-(2 ** 40)),
    });
  });

  it('writes fractions, NaN, infinities and numbers beyond int64 as doubles', () => {
    expect(encodeAmqpTable({ f: 0.1, nan: NaN, inf: -Infinity, huge: 2 ** 70 })).toEqual({
      f: double(0.1),
      nan: double(NaN),
      inf: double(-Infinity),
      huge: double(2 ** 70),
    });
  });

  it('accepts bigint values', () => {
    expect(encodeAmqpTable({ a: 7n, b: 2n ** 40n, c: -(2n ** 40n), d: 2n ** 64n })).toEqual({
      a: int(7),
      b: long(2n ** 40n),
      c: double(-(2 ** 40)),
      d: double(2 ** 64),
    });
  });

  it('writes undefined inside arrays as null and leaves undefined keys out, at any depth', () => {
    expect(encodeAmqpTable({ timelimit: [undefined, undefined], gone: undefined, nested: { a: [undefined, { b: undefined }] } })).toEqual({
      timelimit: [null, null],
      nested: { a: [null, {}] },
    });
  });

  it('keeps strings, booleans, null and Buffers; Dates become AMQP timestamps (seconds)', () => {
    const buf = Buffer.from([1, 2]);
    expect(encodeAmqpTable({ s: 'ü', t: true, f: false, n: null, buf, u8: new Uint8Array([3]), at: new Date(1_714_567_890_999) })).toEqual({
      s: 'ü',
      t: true,
      f: false,
      n: null,
      buf,
      u8: Buffer.from([3]),
      at: { '!': 'timestamp', value: 1_714_567_890 },
    });
  });

  it('refuses values a field table cannot carry, naming the header', () => {
    expect(() => encodeAmqpTable({ a: { b: [1, () => 1] } })).toThrow(AmqpHeaderError);
    expect(() => encodeAmqpTable({ a: { b: [1, () => 1] } })).toThrow(/a\.b\[1\] is a function/);
    expect(() => encodeAmqpTable({ s: Symbol('x') })).toThrow(/s is a symbol/);
    expect(() => encodeAmqpTable({ x: { '!': 'int' } })).toThrow(/key '!'/);
    expect(() => encodeAmqpTable({ ['k'.repeat(256)]: 1 })).toThrow(/255 bytes/);
  });

  it('never throws on JSON values and keeps every value (undefined → null in arrays)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 })), (table) => {
        // '!' keys are refused (tested above); fast-check's JSON has no non-finite numbers to worry about
        const safe = JSON.parse(JSON.stringify(table, (k, v: unknown) => (k === '!' ? undefined : v))) as Record<string, unknown>;
        expect(unwrap(encodeAmqpTable(safe))).toEqual(safe);
      }),
    );
  });
});

describe('decodeAmqpTable', () => {
  it('turns amqplib typed values (timestamp, decimal) into plain values at any depth', () => {
    expect(
      decodeAmqpTable({
        at: { '!': 'timestamp', value: 10 },
        price: { '!': 'decimal', value: { places: 2, digits: 150 } },
        // py-amqp writes the digits signed: -150 arrives as the unsigned 4294967146
        loss: { '!': 'decimal', value: { places: 2, digits: 2 ** 32 - 150 } },
        deep: [{ at: { '!': 'timestamp', value: 1 } }, null, 'x'],
      }),
    ).toEqual({ at: new Date(10_000), price: 1.5, loss: -1.5, deep: [{ at: new Date(1000) }, null, 'x'] });
  });

  it('reads a missing table as empty', () => {
    expect(decodeAmqpTable(undefined)).toEqual({});
  });
});
