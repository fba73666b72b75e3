import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { compress, CompressionError, compressionContentType, decompress } from './compression.js';
import { DecodeError, MessageTooLargeError } from './errors.js';

describe('compression (kombu/compression.py names)', () => {
  test.each([
    ['zlib', 'application/x-gzip'],
    ['gzip', 'application/x-gzip'],
    ['brotli', 'application/x-brotli'],
    ['bzip2', 'application/x-bz2'],
    ['xz', 'application/x-lzma'],
    ['zstd', 'application/zstd'],
    ['application/x-gzip', 'application/x-gzip'],
  ])('%s → %s', (name, type) => {
    expect(compressionContentType(name)).toBe(type);
  });

  test("application/x-gzip is the zlib format (what Python's zlib.compress writes), not a gzip file", () => {
    const { body, contentType } = compress(Buffer.from('hello'), 'gzip');
    expect(contentType).toBe('application/x-gzip');
    expect(body[0]).toBe(0x78); // zlib header, where gzip would start with 1f 8b
    expect(zlib.inflateSync(body).toString()).toBe('hello');
  });

  test('decompresses what zlib.compress and brotli write', () => {
    expect(decompress(zlib.deflateSync(Buffer.from('abc')), 'application/x-gzip').toString()).toBe('abc');
    expect(decompress(zlib.brotliCompressSync(Buffer.from('abc')), 'application/x-brotli').toString()).toBe('abc');
  });

  test('property: decompress(compress(x)) is x for zlib and brotli', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.constantFrom('zlib', 'brotli'), (bytes, name) => {
        const { body, contentType } = compress(Buffer.from(bytes), name);
        expect(Buffer.compare(decompress(body, contentType), Buffer.from(bytes))).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  test.each(['application/x-bz2', 'application/x-lzma', 'application/zstd', 'application/x-made-up'])(
    'decoding %s fails with a clear "unsupported compression" DecodeError',
    (type) => {
      expect(() => decompress(Buffer.from('x'), type)).toThrow(DecodeError);
      expect(() => decompress(Buffer.from('x'), type)).toThrow(/unsupported compression/);
    },
  );

  test('sending with an unsupported compression is refused before anything is sent', () => {
    expect(() => compress(Buffer.from('x'), 'bzip2')).toThrow(CompressionError);
    expect(() => compress(Buffer.from('x'), 'bzip2')).toThrow(/use one of zlib, gzip, brotli/);
  });

  test('a corrupt body is a DecodeError', () => {
    expect(() => decompress(Buffer.from('not zlib'), 'application/x-gzip')).toThrow(/cannot decompress/);
  });

  test('a decompression bomb over the limit is a MessageTooLargeError', () => {
    const bomb = zlib.deflateSync(Buffer.alloc(1_000_000));
    expect(() => decompress(bomb, 'application/x-gzip', 1000)).toThrow(MessageTooLargeError);
    expect(decompress(bomb, 'application/x-gzip', 2_000_000).length).toBe(1_000_000);
  });
});
