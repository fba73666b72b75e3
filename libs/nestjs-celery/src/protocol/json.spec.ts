import { expect } from '@jest/globals';
import fc from 'fast-check';
import { dumps, JsonDecodeError, JsonEncodeError, loads, MAX_JSON_DEPTH, quoteString } from './json.js';

describe('dumps (Python json.dumps defaults)', () => {
  test.each([
    [null, 'null'],
    [true, 'true'],
    [false, 'false'],
    [0, '0'],
    [-0, '0'],
    [1.5, '1.5'],
    [1e21, '1e+21'],
    [1.5e-7, '1.5e-07'],
    [0.00001, '1e-05'],
    [0.0001, '0.0001'],
    [-2.5e-5, '-2.5e-05'],
    [123456789.125, '123456789.125'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [2n ** 64n + 1n, '18446744073709551617'],
    ['', '""'],
    [[], '[]'],
    [{}, '{}'],
    [[1, 2], '[1, 2]'],
    [{ a: 1, b: [true, null] }, '{"a": 1, "b": [true, null]}'],
    [
      [[2, 2], {}, { callbacks: null, errbacks: null, chain: null, chord: null }],
      '[[2, 2], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]',
    ],
  ])('%p → %s', (value, expected) => {
    expect(dumps(value)).toBe(expected);
  });

  test('ensure_ascii: non-ASCII and DEL as lowercase \\uXXXX, astral characters as surrogate pairs', () => {
    expect(dumps('héllo ☃ 😀 \u007f~')).toBe('"h\\u00e9llo \\u2603 \\ud83d\\ude00 \\u007f~"');
  });

  test('control characters, quotes and backslashes escape like Python', () => {
    expect(dumps('"\\\n\r\t\b\f\u0001\u001f')).toBe('"\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f"');
  });

  test('a lone surrogate is escaped, not replaced', () => {
    expect(dumps('\ud800x')).toBe('"\\ud800x"');
  });

  test('keys keep insertion order and are escaped like strings', () => {
    expect(dumps({ z: 1, a: 2, é: 3 })).toBe('{"z": 1, "a": 2, "\\u00e9": 3}');
  });

  test('keys are written the same every time, whether remembered (short, the first 1024 seen) or not', () => {
    const long = 'k'.repeat(40);
    const escaped = { 'é"\n': 1, [long]: 2, a: { a: 3 } };
    const expected = '{"\\u00e9\\"\\n": 1, "' + long + '": 2, "a": {"a": 3}}';
    expect(dumps(escaped)).toBe(expected);
    expect(dumps(escaped)).toBe(expected);
    // more distinct keys than are remembered: the ones past the bound are still written right
    const many = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`key-${i}`, i]));
    const text = dumps(many);
    expect(dumps(many)).toBe(text);
    expect(text).toBe('{' + Array.from({ length: 3000 }, (_, i) => `"key-${i}": ${i}`).join(', ') + '}');
    expect(dumps(escaped)).toBe(expected);
  });

  test('undefined/functions are dropped from objects and null in arrays (JSON.stringify semantics)', () => {
    expect(dumps({ a: undefined, b: () => 1, c: 1 })).toBe('{"c": 1}');
    expect(dumps([undefined, () => 1, Symbol('x')])).toBe('[null, null, null]');
  });

  test('cycles and nesting past MAX_JSON_DEPTH throw JsonEncodeError carrying the error Python raises', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => dumps(cyclic)).toThrow(expect.objectContaining({ name: 'JsonEncodeError', pyRepr: "ValueError('Circular reference detected')" }));
    let deep: unknown[] = [];
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(() => dumps(deep)).toThrow(expect.objectContaining({ pyType: 'RecursionError' }));
    let ok: unknown[] = [];
    for (let i = 1; i < MAX_JSON_DEPTH; i++) ok = [ok];
    expect(dumps(ok)).toHaveLength(2 * MAX_JSON_DEPTH);
    expect(() => dumps([ok])).toThrow(JsonEncodeError);
  });

  test('a top-level value JSON cannot hold throws TypeError', () => {
    expect(() => dumps(undefined)).toThrow(TypeError);
    expect(() => dumps(() => 1)).toThrow(/not JSON serializable/);
  });

  test('Dates are written as kombu 5.2 does: isoformat with Z, 6-digit fraction', () => {
    expect(dumps(new Date('2024-05-01T10:00:05.123Z'))).toBe('"2024-05-01T10:00:05.123000Z"');
    expect(dumps(new Date('2024-05-01T10:00:05Z'))).toBe('"2024-05-01T10:00:05Z"');
    expect(dumps(new Date(NaN))).toBe('null');
  });

  test('Maps are objects (keys as strings), Sets are lists, boxed primitives unwrap, toJSON is honoured', () => {
    expect(
      dumps(
        new Map<unknown, unknown>([
          [1, 'a'],
          ['b', 2],
        ]),
      ),
    ).toBe('{"1": "a", "b": 2}');
    expect(dumps(new Set([1, 2]))).toBe('[1, 2]');
    expect(dumps([new Number(1), new String('s'), new Boolean(false)])).toBe('[1, "s", false]');
    expect(dumps({ toJSON: () => ({ x: 1 }) })).toBe('{"x": 1}');
  });

  test('circular structures throw TypeError, shared (non-circular) ones do not', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => dumps(a)).toThrow(/Circular/);
    const shared = [1];
    expect(dumps([shared, shared])).toBe('[[1], [1]]');
  });

  test('quoteString is the string part of dumps', () => {
    expect(quoteString('é')).toBe('"\\u00e9"');
  });
});

describe('loads (Python json.loads)', () => {
  test('plain JSON goes through the fast path', () => {
    expect(loads('[[2, 2], {}, {"callbacks": null}]')).toEqual([[2, 2], {}, { callbacks: null }]);
  });

  test('NaN, Infinity and -Infinity are accepted', () => {
    const v = loads('[NaN, Infinity, -Infinity, {"x": NaN}]') as [number, number, number, { x: number }];
    expect(v[0]).toBeNaN();
    expect(v[1]).toBe(Infinity);
    expect(v[2]).toBe(-Infinity);
    expect(v[3].x).toBeNaN();
  });

  test('integers beyond 2^53 become BigInt; safe ones stay numbers; floats stay floats', () => {
    expect(loads('18446744073709551617')).toBe(18446744073709551617n);
    expect(loads('[-9007199254740993, 9007199254740991, 1234567890123456.5, 1e400]')).toEqual([
      -9007199254740993n,
      9007199254740991,
      1234567890123456.5,
      Infinity,
    ]);
  });

  test('the shared walk for unsafe integers starts clean after one that stopped inside a container', () => {
    // found at the first item of an object holding more containers: those were queued and are left unwalked
    expect(loads('{"a": [9007199254740993, {"b": 1}], "c": {"d": [2]}}')).toEqual({ a: [9007199254740993n, { b: 1 }], c: { d: [2] } });
    expect(loads('[[1, 2], {"x": [3]}, 4]')).toEqual([[1, 2], { x: [3] }, 4]);
    expect(loads('[[1, 2], {"x": [18446744073709551617]}]')).toEqual([[1, 2], { x: [18446744073709551617n] }]);
    // deeper than the slots kept between walks: still right, and the next walk too
    const wide = `[${Array.from({ length: 5000 }, (_, i) => `[${i}]`).join(', ')}]`;
    expect((loads(wide) as number[][])[4999]).toEqual([4999]);
    expect(loads('[{"n": 9007199254740993}]')).toEqual([{ n: 9007199254740993n }]);
  });

  test('a long digit run inside a string only takes the slow path, the value is right', () => {
    expect(loads('{"phone": "12345678901234567890", "n": 1, "s": "a\\"b\\u00e9"}')).toEqual({
      phone: '12345678901234567890',
      n: 1,
      s: 'a"bé',
    });
  });

  test('duplicate keys: the last wins (Python and JSON.parse agree)', () => {
    expect(loads('{"a": 1, "a": NaN}')).toEqual({ a: NaN });
  });

  test('__proto__ is an ordinary own key', () => {
    const v = loads('{"__proto__": {"x": 1}, "n": NaN}') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__', 'n']);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
  });

  test.each([
    '',
    '[1,',
    '{"a" 1}',
    '[NaN',
    'nan',
    '-NaN',
    '+1',
    '01',
    '[1] x',
    '"unterminated',
    '"bad \\x escape" ',
    '"raw \u0001 control"',
    '{"a": 12345678901234567890,}',
    '[Infinit]',
  ])('invalid JSON %p throws a SyntaxError (JsonDecodeError)', (text) => {
    expect(() => loads(text)).toThrow(SyntaxError);
    expect(() => loads(text)).toThrow(JsonDecodeError);
  });

  test('slow-path errors say where', () => {
    expect(() => loads('[NaN, ]')).toThrow(/position 6/);
  });
});

/** JSON-able values; numbers include the special ones, integers include BigInts beyond 2^53. */
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.string({ unit: 'binary' }),
    fc.double(),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).filter((b) => b < -(2n ** 53n) || b > 2n ** 53n),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(
    fc.string({ unit: 'binary' }).filter((k) => k !== '__proto__'),
    tie('value'),
    { maxKeys: 5 },
  ),
})).value;

/**
 * What Python would hand back: -0 is written as 0 (an int), and an integral double beyond 2^53
 * is written as an int literal, which reads back losslessly as a BigInt of the same value.
 */
function normalize(value: unknown): unknown {
  if (typeof value === 'number' && Object.is(value, -0)) return 0;
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value) && Math.abs(value) < 1e21) {
    return BigInt(value);
  }
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value;
}

function bigIntsToNumbers(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(bigIntsToNumbers);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bigIntsToNumbers(v)]));
  return value;
}

describe('properties', () => {
  test('loads(dumps(x)) round-trips every JSON-like value (incl. NaN, ±Infinity, big ints)', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(loads(dumps(value))).toEqual(normalize(value));
      }),
      { numRuns: 500 },
    );
  });

  test('dumps output is pure ASCII', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(dumps(value)).toMatch(/^[\x00-\x7f]*$/);
      }),
      { numRuns: 300 },
    );
  });

  test('without special values, loads agrees with JSON.parse and dumps with JSON.stringify up to separators', () => {
    const plain = fc.jsonValue();
    fc.assert(
      fc.property(plain, (value) => {
        const text = dumps(value);
        // unsafe integers come back as BigInt where JSON.parse rounds them
        expect(bigIntsToNumbers(loads(text))).toEqual(JSON.parse(text));
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('loads on deep nesting (the slow path is recursive)', () => {
  test('nesting past 1,000 levels on the slow path is a JsonDecodeError, not a RangeError', () => {
    const deep = '['.repeat(10_000) + 'NaN' + ']'.repeat(10_000);
    expect(() => loads(deep)).toThrow(/Nesting deeper than 1000 levels/);
    expect(() => loads(deep)).toThrow(SyntaxError);
    const ok = '['.repeat(900) + 'NaN' + ']'.repeat(900);
    expect(() => loads(ok)).not.toThrow();
    expect(loads('[[], {}, [NaN], {"a": []}]')).toEqual([[], {}, [NaN], { a: [] }]);
  });
});
