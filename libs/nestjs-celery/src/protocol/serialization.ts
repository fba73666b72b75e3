/**
 * kombu serializers (json, msgpack, yaml; pickle refused) and accept_content
 * (kombu/serialization.py).
 *
 * Pickle is never executed, whatever the accept list says: unpickling runs arbitrary code.
 */
import { isUtf8 } from 'node:buffer';
import { dumps, loads } from './json.js';
import { packMsgpack, unpackMsgpack } from './msgpack.js';
import { dumpYaml, loadYaml } from './yaml.js';
import { compress, decompress } from './compression.js';
import { ContentDisallowedError, DecodeError, ProtocolError } from './errors.js';

/** Celery's `task_serializer` / `result_serializer` names (pickle is recognized and never executed). */
export type SerializerName = 'json' | 'msgpack' | 'yaml' | 'pickle';
/** Celery's `task_compression` names (kombu's compression registry). */
export type CompressionName = 'zlib' | 'gzip' | 'brotli' | (string & {});

export interface EncodedBody {
  body: Buffer;
  contentType: string;
  contentEncoding: string;
  /** value of the `compression` header when compressed (kombu's content type, e.g. application/x-gzip) */
  compression?: string;
}

export const CONTENT_TYPES = {
  json: 'application/json',
  msgpack: 'application/x-msgpack',
  yaml: 'application/x-yaml',
  pickle: 'application/x-python-serialize',
} as const satisfies Record<SerializerName, string>;

const CONTENT_ENCODINGS: Readonly<Record<SerializerName, string>> = {
  json: 'utf-8',
  msgpack: 'binary',
  yaml: 'utf-8',
  pickle: 'binary',
};

/** kombu reads these without a serializer and never refuses them (TRUSTED_CONTENT). */
const TRUSTED_CONTENT: ReadonlySet<string> = new Set(['application/data', 'application/text']);
/** content encodings kombu leaves as bytes (SKIP_DECODE) */
const RAW_ENCODINGS: ReadonlySet<string> = new Set(['binary', 'ascii-8bit']);
const PICKLE = CONTENT_TYPES.pickle;

/** The body could not be encoded with the requested serializer. */
export class EncodeError extends ProtocolError {}

function contentTypeOf(nameOrType: string): string {
  if (nameOrType.includes('/')) return nameOrType;
  const type = (CONTENT_TYPES as Record<string, string>)[nameOrType];
  if (!type) {
    throw new TypeError(`unknown serializer ${JSON.stringify(nameOrType)} in accept_content: use json, msgpack, yaml or a content type`);
  }
  return type;
}

/** kombu's accept_content: a list of serializer names or content types; default ['json']. */
export class AcceptContent {
  private readonly types: ReadonlySet<string>;

  constructor(readonly accepted: readonly string[] = ['json']) {
    this.types = new Set(accepted.map(contentTypeOf));
  }

  allows(contentType: string): boolean {
    const type = contentType || 'application/data';
    return TRUSTED_CONTENT.has(type) || this.types.has(type);
  }
}

export function encodeBody(value: unknown, serializer: SerializerName = 'json', compression?: CompressionName): EncodedBody {
  let body: Buffer;
  try {
    switch (serializer) {
      case 'json':
        body = Buffer.from(dumps(value), 'utf8');
        break;
      case 'msgpack':
        body = packMsgpack(value);
        break;
      case 'yaml':
        body = Buffer.from(dumpYaml(value), 'utf8');
        break;
      case 'pickle':
        throw new ContentDisallowedError('pickle is not supported: use json (the default), msgpack or yaml');
      default:
        throw new TypeError(`unknown serializer ${JSON.stringify(serializer)}: use json, msgpack or yaml`);
    }
  } catch (err) {
    if (err instanceof ProtocolError || err instanceof TypeError) throw err;
    throw new EncodeError(`cannot serialize the body as ${serializer}: ${(err as Error).message}`);
  }
  const encoded: EncodedBody = {
    body,
    contentType: CONTENT_TYPES[serializer],
    contentEncoding: CONTENT_ENCODINGS[serializer],
  };
  if (compression) {
    const compressed = compress(body, compression);
    encoded.body = compressed.body;
    encoded.compression = compressed.contentType;
  }
  return encoded;
}

/** Bounds on what decoding a body may cost; every decoder of wire bodies applies them. */
export interface DecodeLimits {
  /**
   * Refuse bodies that decompress to more than this many bytes (MessageTooLargeError); the
   * inflater stops there, so a decompression bomb never takes more memory. Default 16 MiB.
   */
  maxDecompressedBytes?: number;
  /**
   * YAML: refuse documents whose aliases expand to more than this many values (DecodeError),
   * e.g. the "billion laughs" alias bomb, or that are recursive. Default 1,000,000.
   */
  maxYamlNodes?: number;
}

export const DEFAULT_DECODE_LIMITS: Readonly<Required<DecodeLimits>> = {
  maxDecompressedBytes: 16 * 1024 * 1024,
  maxYamlNodes: 1_000_000,
};

function utf8Text(body: Buffer, contentType: string): string {
  if (!isUtf8(body)) throw new DecodeError(`${contentType} body is not valid UTF-8`);
  return body.toString('utf8');
}

function decodeText(body: Buffer, encoding: string, contentType: string): string {
  if (encoding === 'utf-8' || encoding === 'utf8') return utf8Text(body, contentType);
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(body);
  } catch (err) {
    throw new DecodeError(`cannot decode ${contentType} body with content encoding ${encoding}: ${(err as Error).message}`);
  }
}

/** The task id from v2 headers, so a decode failure can still be stored as a FAILURE. */
function taskIdOf(headers: Record<string, unknown> | undefined): string | undefined {
  return typeof headers?.id === 'string' ? headers.id : undefined;
}

/** Decompress (per the `compression` header), check accept_content, deserialize. Throws ContentDisallowedError / DecodeError. */
export function decodeBody(
  message: { body: Buffer; contentType: string; contentEncoding: string; headers?: Record<string, unknown> },
  accept: AcceptContent = new AcceptContent(),
  limits: DecodeLimits = {},
): unknown {
  try {
    return decodeUnchecked(message, accept, limits);
  } catch (err) {
    const taskId = taskIdOf(message.headers);
    if (err instanceof ProtocolError) {
      if (err.taskId !== undefined || taskId === undefined) throw err;
      const Ctor = err.constructor as new (message: string, taskId?: string) => ProtocolError;
      throw new Ctor(err.message, taskId);
    }
    throw new DecodeError(`cannot decode ${message.contentType} body: ${(err as Error).message}`, taskId);
  }
}

function decodeUnchecked(
  message: { body: Buffer; contentType: string; contentEncoding: string; headers?: Record<string, unknown> },
  accept: AcceptContent,
  limits: DecodeLimits,
): unknown {
  const contentType = message.contentType || 'application/data';
  if (contentType === PICKLE) {
    throw new ContentDisallowedError(
      'refusing to deserialize pickle (application/x-python-serialize): unpickling runs arbitrary code; ' + 'configure the sender with task_serializer="json"',
    );
  }
  if (!accept.allows(contentType)) {
    throw new ContentDisallowedError(
      `refusing to deserialize untrusted content of type ${contentType}: ` +
        `add it to accept_content (accepted: ${accept.accepted.join(', ')}) if it is expected`,
    );
  }
  let body = message.body;
  const compression = message.headers?.compression;
  if (compression !== undefined && compression !== null && compression !== '') {
    body = decompress(
      body,
      typeof compression === 'string' ? compression : JSON.stringify(compression),
      limits.maxDecompressedBytes ?? DEFAULT_DECODE_LIMITS.maxDecompressedBytes,
    );
  }
  const encoding = (message.contentEncoding || 'utf-8').toLowerCase();
  // kombu hands an empty body back as it is
  if (body.length === 0) return RAW_ENCODINGS.has(encoding) ? body : '';
  switch (contentType) {
    case CONTENT_TYPES.json:
      // kombu's json decoder always reads UTF-8 (kombu/utils/json.py)
      return loads(utf8Text(body, contentType));
    case CONTENT_TYPES.msgpack:
      return unpackMsgpack(body);
    case CONTENT_TYPES.yaml:
      return loadYaml(utf8Text(body, contentType), limits.maxYamlNodes ?? DEFAULT_DECODE_LIMITS.maxYamlNodes);
    default:
      return RAW_ENCODINGS.has(encoding) ? body : decodeText(body, encoding, contentType);
  }
}
