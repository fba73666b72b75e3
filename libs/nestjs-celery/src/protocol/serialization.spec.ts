import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { AcceptContent, decodeBody, encodeBody } from './serialization.js';
import { ContentDisallowedError, DecodeError, MessageTooLargeError } from './errors.js';
import { BROTLI_1GIB, yamlAliasBomb } from '../../../../test/fuzz/bombs.js';

const message = (body: Buffer | string, contentType: string, contentEncoding = 'utf-8', headers: Record<string, unknown> = {}) => ({
  body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
  contentType,
  contentEncoding,
  headers,
});

describe('AcceptContent (kombu accept_content)', () => {
  test('defaults to json', () => {
    const accept = new AcceptContent();
    expect(accept.allows('application/json')).toBe(true);
    expect(accept.allows('application/x-yaml')).toBe(false);
  });

  test('takes serializer names or content types', () => {
    const accept = new AcceptContent(['msgpack', 'application/x-yaml']);
    expect(accept.allows('application/x-msgpack')).toBe(true);
    expect(accept.allows('application/x-yaml')).toBe(true);
    expect(accept.allows('application/json')).toBe(false);
  });

  test('application/data and application/text are always trusted (an empty content type means application/data)', () => {
    const accept = new AcceptContent(['json']);
    expect(accept.allows('application/data')).toBe(true);
    expect(accept.allows('application/text')).toBe(true);
    expect(accept.allows('')).toBe(true);
  });

  test('an unknown serializer name is a configuration error', () => {
    expect(() => new AcceptContent(['xml'])).toThrow(/unknown serializer "xml"/);
  });
});

describe('encodeBody', () => {
  test('json: Python json.dumps bytes, application/json, utf-8', () => {
    const encoded = encodeBody([[2, 2], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
    expect(encoded).toEqual({
      body: Buffer.from('[[2, 2], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'),
      contentType: 'application/json',
      contentEncoding: 'utf-8',
    });
  });

  test('msgpack: application/x-msgpack, binary, standard maps (no msgpackr records)', () => {
    const encoded = encodeBody({ a: 1 }, 'msgpack');
    expect(encoded.contentType).toBe('application/x-msgpack');
    expect(encoded.contentEncoding).toBe('binary');
    expect(encoded.body.toString('hex')).toBe('81a16101');
  });

  test('msgpack: a map key named __proto__ is a key both ways (msgpackr alone drops it writing and renames it reading)', () => {
    const value = JSON.parse('{"__proto__": null, "a": [{"__proto__": 1, "b": true}]}') as Record<string, unknown>;
    const encoded = encodeBody(value, 'msgpack');
    // what Python's msgpack.packb({'__proto__': None, 'a': [{'__proto__': 1, 'b': True}]}) writes
    expect(encoded.body.toString('hex')).toBe('82a95f5f70726f746f5f5fc0a1619182a95f5f70726f746f5f5f01a162c3');
    const decoded = decodeBody(message(encoded.body, 'application/x-msgpack', 'binary'), new AcceptContent(['msgpack'])) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded)).toEqual(['__proto__', 'a']);
    expect(decoded).toEqual(value);
  });

  test('msgpack: integers beyond 32 bits travel as integers, not float64', () => {
    const encoded = encodeBody([2 ** 40, -(2 ** 40), 2 ** 53 + 2], 'msgpack');
    // 0xcf uint64 / 0xd3 int64, never 0xcb float64
    expect(encoded.body.includes(0xcb)).toBe(false);
    expect(decodeBody(message(encoded.body, 'application/x-msgpack', 'binary'), new AcceptContent(['msgpack']))).toEqual([2 ** 40, -(2 ** 40), 2n ** 53n + 2n]);
  });

  test('yaml: application/x-yaml, utf-8; strings YAML 1.1 would misread are quoted', () => {
    const encoded = encodeBody(['yes', 'no', '2024-01-01', '0x10', 1.5, null, true], 'yaml');
    expect(encoded.contentType).toBe('application/x-yaml');
    expect(encoded.contentEncoding).toBe('utf-8');
    expect(decodeBody(message(encoded.body, 'application/x-yaml'), new AcceptContent(['yaml']))).toEqual(['yes', 'no', '2024-01-01', '0x10', 1.5, null, true]);
  });

  test('yaml: strings and keys only PyYAML would misread (its float, int, timestamp, merge resolvers) are quoted', () => {
    // fast-check found '._': js-yaml wrote it plain, PyYAML's float resolver (and our loader) read NaN
    const tricky = ['._', '.1_', '1_0', '0b1_0', '1:20', '1:20.5', '2001-12-14 21:59:43.10 -5', '<<', '=', '~', 'Off'];
    const value = { list: tricky, ...Object.fromEntries(tricky.map((t) => [t, t])) };
    const encoded = encodeBody(value, 'yaml');
    expect(decodeBody(message(encoded.body, 'application/x-yaml'), new AcceptContent(['yaml']))).toEqual(value);
    expect(encoded.body.toString()).toContain("'._': '._'");
  });

  test('compression adds the kombu content type for the compression header', () => {
    const encoded = encodeBody([1], 'json', 'zlib');
    expect(encoded.compression).toBe('application/x-gzip');
    expect(zlib.inflateSync(encoded.body).toString()).toBe('[1]');
  });

  test('pickle is never produced', () => {
    expect(() => encodeBody([1], 'pickle')).toThrow(ContentDisallowedError);
  });

  test('an unknown serializer is a TypeError', () => {
    expect(() => encodeBody([1], 'xml' as 'json')).toThrow(TypeError);
  });
});

describe('decodeBody', () => {
  test('json body, with NaN and a big int', () => {
    const v = decodeBody(message('[NaN, 18446744073709551617]', 'application/json')) as unknown[];
    expect(v[0]).toBeNaN();
    expect(v[1]).toBe(18446744073709551617n);
  });

  test('reads the compression header (zlib as Python writes it)', () => {
    const body = zlib.deflateSync(Buffer.from('{"a": 1}'));
    expect(decodeBody(message(body, 'application/json', 'utf-8', { compression: 'application/x-gzip' }))).toEqual({ a: 1 });
  });

  test('pickle is refused even when accept_content lists it', () => {
    const accept = new AcceptContent(['pickle', 'json']);
    const m = message(Buffer.from([0x80, 0x04]), 'application/x-python-serialize', 'binary', { id: 't-1' });
    expect(() => decodeBody(m, accept)).toThrow(ContentDisallowedError);
    expect(() => decodeBody(m, accept)).toThrow(/refusing to deserialize pickle/);
    try {
      decodeBody(m, accept);
    } catch (err) {
      expect((err as ContentDisallowedError).taskId).toBe('t-1');
    }
  });

  test('a content type outside accept_content is refused with a hint', () => {
    expect(() => decodeBody(message('- 1', 'application/x-yaml'))).toThrow(/add it to accept_content/);
  });

  test('invalid JSON, invalid UTF-8, corrupt msgpack are DecodeErrors carrying the task id', () => {
    const bad = [
      message('[1,', 'application/json', 'utf-8', { id: 'a' }),
      message(Buffer.from([0x5b, 0xff, 0x5d]), 'application/json', 'utf-8', { id: 'b' }),
      message(Buffer.from([0x92, 0x01]), 'application/x-msgpack', 'binary', { id: 'c' }),
    ];
    const accept = new AcceptContent(['json', 'msgpack']);
    for (const m of bad) {
      expect(() => decodeBody(m, accept)).toThrow(DecodeError);
      try {
        decodeBody(m, accept);
      } catch (err) {
        expect((err as DecodeError).taskId).toBe(m.headers.id);
      }
    }
  });

  test('an unsupported compression is a DecodeError naming it', () => {
    const m = message('x', 'application/json', 'utf-8', { compression: 'application/x-bz2', id: 't' });
    expect(() => decodeBody(m)).toThrow(/unsupported compression "application\/x-bz2"/);
  });

  test('untyped content: binary stays bytes, text is decoded; an empty body comes back as it is', () => {
    expect(decodeBody(message(Buffer.from([1, 2]), 'application/data', 'binary'))).toEqual(Buffer.from([1, 2]));
    expect(decodeBody(message('héllo', 'application/text', 'utf-8'))).toBe('héllo');
    expect(decodeBody(message(Buffer.from([0xe9]), 'application/text', 'latin1'))).toBe('é');
    expect(decodeBody(message('', 'application/json'))).toBe('');
    expect(decodeBody(message(Buffer.alloc(0), 'application/data', 'binary'))).toEqual(Buffer.alloc(0));
  });

  test('maxDecompressedBytes stops a decompression bomb', () => {
    const body = zlib.deflateSync(Buffer.from(`[${'0, '.repeat(100_000)}0]`));
    expect(() => decodeBody(message(body, 'application/json', 'utf-8', { compression: 'zlib' }), undefined, { maxDecompressedBytes: 1000 })).toThrow(
      /exceeds the limit/,
    );
  });
});

/** What comes back: unsafe integral numbers as BigInt of the same value; -0 is the int 0 except in YAML. */
function expectedBack(value: unknown, serializer: string): unknown {
  if (typeof value === 'number') {
    // JSON and YAML write integral numbers below 1e21 as ints; msgpack has int64/uint64
    const intLimit = serializer === 'msgpack' ? value >= -(2 ** 63) && value < 2 ** 64 : Math.abs(value) < 1e21;
    if (Number.isInteger(value) && !Number.isSafeInteger(value) && intLimit) return BigInt(value);
    return serializer !== 'yaml' && Object.is(value, -0) ? 0 : value;
  }
  if (Array.isArray(value)) return value.map((v) => expectedBack(v, serializer));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expectedBack(v, serializer)]));
  }
  return value;
}

describe('round trips', () => {
  const value = fc.jsonValue({ maxDepth: 3 });
  test.each(['json', 'msgpack', 'yaml'] as const)('property: decodeBody(encodeBody(x, %s)) is x, with and without zlib', (serializer) => {
    const accept = new AcceptContent([serializer]);
    fc.assert(
      fc.property(value, fc.constantFrom(undefined, 'zlib', 'brotli'), (v, compression) => {
        const encoded = encodeBody(v, serializer, compression);
        const decoded = decodeBody(
          { body: encoded.body, contentType: encoded.contentType, contentEncoding: encoded.contentEncoding, headers: { compression: encoded.compression } },
          accept,
        );
        expect(decoded).toEqual(expectedBack(v, serializer));
      }),
      { numRuns: 150 },
    );
  });
});

describe('decoding bounds (issue 12: bombs)', () => {
  const yaml = new AcceptContent(['json', 'yaml']);

  test('a brotli body of 1.6 KB that inflates to 1 GiB is refused at the default 16 MiB, with the task id, without the memory', () => {
    const rssBefore = process.memoryUsage().rss;
    let error: unknown;
    try {
      decodeBody(message(BROTLI_1GIB, 'application/json', 'utf-8', { id: 't-bomb', compression: 'application/x-brotli' }));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect((error as MessageTooLargeError).taskId).toBe('t-bomb');
    expect((error as Error).message).toMatch(/limit of 16777216 bytes/);
    // inflating stopped at the limit: nowhere near the gibibyte
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
  }, 60_000);

  test('a zlib body over the limit is refused; under it, read; the limit is an option', () => {
    const body = zlib.deflateSync(Buffer.from(JSON.stringify(['x'.repeat(20 * 1024 * 1024)])));
    const m = message(body, 'application/json', 'utf-8', { compression: 'application/x-gzip' });
    expect(() => decodeBody(m)).toThrow(MessageTooLargeError);
    expect(decodeBody(m, undefined, { maxDecompressedBytes: 32 * 1024 * 1024 })).toHaveLength(1);
    expect(() =>
      decodeBody(message(zlib.deflateSync(Buffer.from('[1, 2]')), 'application/json', 'utf-8', { compression: 'zlib' }), undefined, {
        maxDecompressedBytes: 3,
      }),
    ).toThrow(/exceeds the limit of 3 bytes/);
  });

  test('a gzip-format body under application/x-gzip is read too', () => {
    expect(decodeBody(message(zlib.gzipSync(Buffer.from('[1, 2]')), 'application/json', 'utf-8', { compression: 'application/x-gzip' }))).toEqual([1, 2]);
  });

  test('a YAML alias bomb (10^9 values from 520 bytes) is refused as a DecodeError naming the bound', () => {
    const bomb = yamlAliasBomb();
    expect(bomb.length).toBeLessThan(1024);
    let error: unknown;
    try {
      decodeBody(message(bomb, 'application/x-yaml', 'utf-8', { id: 't-yaml' }), yaml);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).taskId).toBe('t-yaml');
    expect((error as Error).message).toMatch(/expands to more than 1000000 values.*maxYamlNodes/);
    expect(() => decodeBody(message(yamlAliasBomb(4), 'application/x-yaml'), yaml, { maxYamlNodes: 1000 })).toThrow(/more than 1000 values/);
    expect(() => decodeBody(message(yamlAliasBomb(2), 'application/x-yaml'), yaml, { maxYamlNodes: 1000 })).not.toThrow();
  });

  test('a recursive YAML document is refused; aliases PyYAML writes for shared values are fine', () => {
    expect(() => decodeBody(message('a: &a [1, *a]', 'application/x-yaml'), yaml)).toThrow(/recursive/);
    // PyYAML anchors an object referenced twice, e.g. the same options dict
    expect(decodeBody(message('- &id001 {x: 1}\n- *id001\n- {}\n', 'application/x-yaml'), yaml)).toEqual([{ x: 1 }, { x: 1 }, {}]);
  });
});
