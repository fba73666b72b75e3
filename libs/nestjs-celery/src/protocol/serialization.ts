/** kombu serializers (json, msgpack, yaml; pickle refused) and accept_content. STUB: signatures fixed. */
import { dumps, loads } from './json.js';
import { ContentDisallowedError } from './errors.js';

export type SerializerName = 'json' | 'msgpack' | 'yaml' | 'pickle';
export type CompressionName = 'zlib' | 'gzip' | 'brotli' | (string & {});

export interface EncodedBody {
  body: Buffer;
  contentType: string;
  contentEncoding: string;
  /** value of the `compression` header when compressed (kombu's content type, e.g. application/x-gzip) */
  compression?: string;
}

/** kombu's accept_content: a list of serializer names or content types; default ['json']. */
export class AcceptContent {
  constructor(readonly accepted: readonly string[] = ['json']) {}
  allows(contentType: string): boolean {
    return this.accepted.includes(contentType) || (contentType === 'application/json' && this.accepted.includes('json'));
  }
}

export function encodeBody(value: unknown, serializer: SerializerName = 'json', compression?: CompressionName): EncodedBody {
  void serializer;
  void compression;
  return { body: Buffer.from(dumps(value), 'utf8'), contentType: 'application/json', contentEncoding: 'utf-8' };
}

/** Decompress (per the `compression` header), check accept_content, deserialize. Throws ContentDisallowedError / DecodeError. */
export function decodeBody(
  message: { body: Buffer; contentType: string; contentEncoding: string; headers?: Record<string, unknown> },
  accept: AcceptContent = new AcceptContent(),
): unknown {
  if (!accept.allows(message.contentType)) throw new ContentDisallowedError(`content type ${message.contentType} not accepted`);
  return loads(message.body.toString('utf8'));
}
