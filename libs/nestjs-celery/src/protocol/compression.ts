/**
 * Body compression with kombu's names and content types (kombu/compression.py).
 *
 * The `compression` message header carries the content type. Note kombu's historical naming:
 * `application/x-gzip` (aliases `gzip`, `zlib`) is the **zlib** format of `zlib.compress`, not
 * a gzip file. Node ships zlib and brotli; bzip2, lzma and zstd are recognised by name but
 * refused with a clear error.
 */
import * as zlib from 'node:zlib';
import { DecodeError, MessageTooLargeError, ProtocolError } from './errors.js';

export const COMPRESSION_CONTENT_TYPES = {
  zlib: 'application/x-gzip',
  bzip2: 'application/x-bz2',
  brotli: 'application/x-brotli',
  lzma: 'application/x-lzma',
  zstd: 'application/zstd',
} as const;

/** kombu's aliases → content type */
const ALIASES: Readonly<Record<string, string>> = {
  zlib: COMPRESSION_CONTENT_TYPES.zlib,
  gzip: COMPRESSION_CONTENT_TYPES.zlib,
  bzip2: COMPRESSION_CONTENT_TYPES.bzip2,
  bzip: COMPRESSION_CONTENT_TYPES.bzip2,
  brotli: COMPRESSION_CONTENT_TYPES.brotli,
  lzma: COMPRESSION_CONTENT_TYPES.lzma,
  xz: COMPRESSION_CONTENT_TYPES.lzma,
  zstd: COMPRESSION_CONTENT_TYPES.zstd,
  zstandard: COMPRESSION_CONTENT_TYPES.zstd,
};

/** A compression that cannot be used for sending (unknown, or not available in Node). */
export class CompressionError extends ProtocolError {}

interface Codec {
  compress(body: Buffer): Buffer;
  decompress(body: Buffer, maxOutputLength?: number): Buffer;
}

const CODECS: Readonly<Record<string, Codec>> = {
  [COMPRESSION_CONTENT_TYPES.zlib]: {
    compress: (body) => zlib.deflateSync(body),
    // zlib as kombu writes it; a gzip file (1f 8b) is read too (unzip detects the header)
    decompress: (body, maxOutputLength) => zlib.unzipSync(body, maxOutputLength ? { maxOutputLength } : {}),
  },
  [COMPRESSION_CONTENT_TYPES.brotli]: {
    compress: (body) => zlib.brotliCompressSync(body),
    decompress: (body, maxOutputLength) => zlib.brotliDecompressSync(body, maxOutputLength ? { maxOutputLength } : {}),
  },
};

/** The content type for a kombu compression name or alias (content types pass through). */
export function compressionContentType(nameOrType: string): string {
  const key = nameOrType.trim().toLowerCase();
  return ALIASES[key] ?? key;
}

function supported(): string {
  return Object.keys(ALIASES)
    .filter((name) => CODECS[ALIASES[name]])
    .join(', ');
}

/** Compress a body; returns the content type for the `compression` header. */
export function compress(body: Buffer, nameOrType: string): { body: Buffer; contentType: string } {
  const contentType = compressionContentType(nameOrType);
  const codec = CODECS[contentType];
  if (!codec) {
    throw new CompressionError(`unsupported compression ${JSON.stringify(nameOrType)}: use one of ${supported()}`);
  }
  return { body: codec.compress(body), contentType };
}

/**
 * Decompress per the `compression` header. Throws DecodeError for an unsupported method or a
 * corrupt body, MessageTooLargeError when the output would exceed `maxOutputLength` bytes
 * (decompression bombs).
 */
export function decompress(body: Buffer, contentType: string, maxOutputLength?: number): Buffer {
  const type = compressionContentType(contentType);
  const codec = CODECS[type];
  if (!codec) {
    throw new DecodeError(
      `unsupported compression ${JSON.stringify(contentType)} in the message's compression header: ` +
        `this worker can decompress ${supported()}; configure the sender to use one of them`,
    );
  }
  try {
    return codec.decompress(body, maxOutputLength);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new MessageTooLargeError(`decompressed body exceeds the limit of ${maxOutputLength} bytes (${type}); raise the limit if such bodies are expected`);
    }
    throw new DecodeError(`cannot decompress body as ${type}: ${e.message}`);
  }
}
