/**
 * kombu's Redis message envelope (kombu/transport/virtual/base.py `prepare_message`,
 * `_inplace_augment_message`, `Message`; kombu/transport/redis.py `QoS.append`,
 * `_do_restore_message`). Pure: text in, text out.
 *
 * Wire shape, in the key order kombu 5.2 writes it:
 *   {"body": <base64>, "content-encoding", "content-type", "headers": {…},
 *    "properties": {correlation_id, reply_to, …other properties…, delivery_mode, [expiration],
 *                   delivery_info: {exchange, routing_key}, priority, body_encoding, delivery_tag}}
 */
import { DecodeError, MessageTooLargeError, type ProtocolError } from './errors.js';
import { dumps, loads } from './json.js';
import { DEFAULT_HEADER_LIMITS, headerBoundsProblem, type HeaderLimits } from './nesting.js';
import type { MessageProperties, TransportMessage } from './transport-message.js';

/** Where kombu says the message was published: exchange and routing key as sent. */
export interface KombuDeliveryInfo {
  exchange: string;
  routing_key: string;
}

export interface DecodedEnvelope {
  /** body bytes (empty when unreadable), headers, properties with the AMQP ones in camelCase */
  message: TransportMessage;
  deliveryInfo: { exchange: string; routingKey: string; redelivered: boolean };
  /** kombu's `properties.delivery_tag` (a uuid4); undefined when the envelope lacks one */
  deliveryTag: string | undefined;
  /** set when the envelope was readable but not entirely (bad base64, no delivery_tag, …) or is over the size limit */
  error?: ProtocolError;
}

/** Properties that belong to the transport, not the message: kombu adds them on every publish. */
const TRANSPORT_PROPERTIES = new Set(['delivery_info', 'body_encoding', 'delivery_tag']);
/** AMQP properties carried in camelCase in MessageProperties, snake_case on the wire. */
const CAMEL_PROPERTIES = new Set(['correlationId', 'replyTo', 'deliveryMode', 'priority', 'expiration']);

/**
 * The envelope kombu's Redis transport pushes for `message`, with kombu's key order: AMQP
 * properties first (correlation_id, reply_to, extras as given), then delivery_mode (default 2,
 * kombu's `maybe_delivery_mode`), expiration, delivery_info, priority (default 0),
 * body_encoding 'base64' and the delivery tag.
 */
export function encodeEnvelope(message: TransportMessage, deliveryInfo: KombuDeliveryInfo, deliveryTag: string): string {
  const { correlationId, replyTo, deliveryMode, priority, expiration } = message.properties;
  const properties: Record<string, unknown> = {};
  if (correlationId != null) properties.correlation_id = correlationId;
  if (replyTo != null) properties.reply_to = replyTo;
  for (const [key, value] of Object.entries(message.properties)) {
    if (value === undefined || CAMEL_PROPERTIES.has(key) || TRANSPORT_PROPERTIES.has(key)) continue;
    properties[key] = value;
  }
  properties.delivery_mode = deliveryMode ?? 2;
  if (expiration != null) properties.expiration = expiration;
  properties.delivery_info = { exchange: deliveryInfo.exchange, routing_key: deliveryInfo.routing_key };
  properties.priority = priority ?? 0;
  properties.body_encoding = 'base64';
  properties.delivery_tag = deliveryTag;
  return dumps({
    body: message.body.toString('base64'),
    'content-encoding': message.contentEncoding,
    'content-type': message.contentType,
    headers: message.headers ?? {},
    properties,
  });
}

/** Room for everything but the body (headers, properties) when an envelope's length is checked. */
const ENVELOPE_HEADROOM = 1024 * 1024;

/**
 * Read an envelope. Throws DecodeError when the text is not JSON or not a JSON object (nothing
 * can be recovered). Anything else kombu could not have handled is reported in `error` while
 * what was readable (headers, hence the task id) is still returned.
 *
 * An envelope too long to carry a body of at most `maxBodyBytes` (base64: 4 characters per 3
 * bytes, plus 1 MiB for the rest) is not decoded: its body is skipped unread, the rest is read,
 * and `error` is a MessageTooLargeError with the task id.
 */
export function decodeEnvelope(raw: string, maxBodyBytes = Number.POSITIVE_INFINITY, headerLimits: HeaderLimits = DEFAULT_HEADER_LIMITS): DecodedEnvelope {
  if (raw.length > Math.ceil(maxBodyBytes / 3) * 4 + ENVELOPE_HEADROOM) {
    const decoded = decodeEnvelope(withoutBody(raw), Number.POSITIVE_INFINITY, headerLimits);
    const taskId = typeof decoded.message.headers.id === 'string' ? decoded.message.headers.id : undefined;
    decoded.error = new MessageTooLargeError(
      `message of ${raw.length} characters is over the ${maxBodyBytes}-byte body limit (maxMessageBytes)${taskId ? ` for task ${taskId}` : ''}`,
      taskId,
    );
    return decoded;
  }
  let parsed: unknown;
  try {
    parsed = loads(raw);
  } catch (err) {
    throw new DecodeError(
      `kombu envelope is not valid JSON (${(err as Error).message}); the message was not written by kombu's Redis transport: ${preview(raw)}`,
    );
  }
  if (!isObject(parsed)) {
    throw new DecodeError(`kombu envelope must be a JSON object, got ${preview(raw)}`);
  }
  const problems: string[] = [];
  const headers = readHeaders(parsed.headers, problems);
  const taskId = typeof headers.id === 'string' ? headers.id : undefined;
  const overBound = headerBoundsProblem(headers, headerLimits);
  if (overBound) problems.push(`headers: ${overBound}`);

  const rawProps = parsed.properties;
  if (!isObject(rawProps)) problems.push('"properties" is missing or not an object');
  const props = isObject(rawProps) ? rawProps : {};

  const tag = props.delivery_tag;
  const deliveryTag = typeof tag === 'string' ? tag : typeof tag === 'number' ? String(tag) : undefined;
  if (deliveryTag === undefined) problems.push('properties.delivery_tag is missing (kombu requires it)');

  const info = isObject(props.delivery_info) ? props.delivery_info : {};
  const body = readBody(parsed.body, props.body_encoding, problems);

  const message: TransportMessage = {
    body,
    contentType: typeof parsed['content-type'] === 'string' ? parsed['content-type'] : '',
    contentEncoding: typeof parsed['content-encoding'] === 'string' ? parsed['content-encoding'] : '',
    headers,
    properties: readProperties(props),
  };
  const decoded: DecodedEnvelope = {
    message,
    deliveryInfo: {
      exchange: typeof info.exchange === 'string' ? info.exchange : '',
      routingKey: typeof info.routing_key === 'string' ? info.routing_key : '',
      redelivered: info.redelivered === true,
    },
    deliveryTag,
  };
  if (problems.length) {
    decoded.error = new DecodeError(`unreadable kombu envelope${taskId ? ` for task ${taskId}` : ''}: ${problems.join('; ')}`, taskId);
  }
  return decoded;
}

/**
 * The value kombu's ack emulation stores in the `unacked` hash: json([envelope, exchange,
 * routing_key]). The envelope text is embedded verbatim, which is what Python's
 * dumps(loads(text)) gives back for any envelope kombu wrote.
 */
export function encodeUnackedEntry(rawEnvelope: string, exchange: string, routingKey: string): string {
  return `[${rawEnvelope}, ${dumps(exchange)}, ${dumps(routingKey)}]`;
}

export interface UnackedEntry {
  /** the parsed envelope object, as kombu keeps `message._raw` */
  envelope: Record<string, unknown>;
  exchange: string;
  routingKey: string;
}

/** Read an `unacked` hash value. Throws DecodeError when it is not kombu's triple. */
export function decodeUnackedEntry(raw: string): UnackedEntry {
  let parsed: unknown;
  try {
    parsed = loads(raw);
  } catch (err) {
    throw new DecodeError(`kombu unacked entry is not valid JSON (${(err as Error).message}): ${preview(raw)}`);
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || !isObject(parsed[0])) {
    throw new DecodeError(`kombu unacked entry must be [envelope, exchange, routing_key], got ${preview(raw)}`);
  }
  const [envelope, exchange, routingKey] = parsed as [Record<string, unknown>, unknown, unknown];
  return {
    envelope,
    exchange: typeof exchange === 'string' ? exchange : '',
    routingKey: typeof routingKey === 'string' ? routingKey : '',
  };
}

/**
 * The envelope text a restore pushes back: kombu sets headers.redelivered and
 * properties.delivery_info.redelivered (each only where the container exists) and re-dumps it.
 */
export function redeliveredEnvelope(envelope: Record<string, unknown>): string {
  const copy: Record<string, unknown> = { ...envelope };
  if (isObject(copy.headers)) copy.headers = { ...copy.headers, redelivered: true };
  if (isObject(copy.properties) && isObject(copy.properties.delivery_info)) {
    copy.properties = {
      ...copy.properties,
      delivery_info: { ...copy.properties.delivery_info, redelivered: true },
    };
  }
  return dumps(copy);
}

/**
 * The envelope's JSON text without its top-level "body" member, found by a linear scan (strings
 * skipped with indexOf, nesting counted, no recursion), so an oversized body is never copied.
 * Text that is not a JSON object comes back unchanged for decodeEnvelope to refuse.
 */
function withoutBody(raw: string): string {
  const members: string[] = [];
  let p = skipSpace(raw, 0);
  if (raw[p] !== '{') return raw;
  p = skipSpace(raw, p + 1);
  while (p < raw.length && raw[p] === '"') {
    const keyEnd = skipString(raw, p);
    const colon = skipSpace(raw, keyEnd);
    if (raw[colon] !== ':') return raw;
    const valueEnd = skipValue(raw, skipSpace(raw, colon + 1));
    if (raw.slice(p, keyEnd) !== '"body"') members.push(raw.slice(p, valueEnd));
    p = skipSpace(raw, valueEnd);
    if (raw[p] === ',') p = skipSpace(raw, p + 1);
    else break;
  }
  return raw[p] === '}' ? `{${members.join(', ')}}` : raw;
}

function skipSpace(text: string, p: number): number {
  while (p < text.length && (text[p] === ' ' || text[p] === '\n' || text[p] === '\r' || text[p] === '\t')) p++;
  return p;
}

/** The index after the string literal starting at `p` (its opening quote); text.length when unterminated. */
function skipString(text: string, p: number): number {
  for (let from = p + 1; ;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** The index after the JSON value starting at `p`. */
function skipValue(text: string, p: number): number {
  const first = text[p];
  if (first === '"') return skipString(text, p);
  if (first !== '{' && first !== '[') {
    while (p < text.length && text[p] !== ',' && text[p] !== '}' && text[p] !== ']') p++;
    return p;
  }
  let depth = 0;
  while (p < text.length) {
    const c = text[p];
    if (c === '"') {
      p = skipString(text, p);
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return p + 1;
    p++;
  }
  return p;
}

function readHeaders(value: unknown, problems: string[]): Record<string, unknown> {
  if (value == null) return {};
  if (isObject(value)) return value;
  problems.push('"headers" is not an object');
  return {};
}

/**
 * Strict base64 (Python's b64encode output), without a regex over the body (one over a
 * multi-MiB body overflowed V8's regexp stack). Node's decoder skips characters outside the
 * alphabet, stops at the first '=' and also reads the URL-safe '-' and '_'; so the text is exact
 * base64 when its length is a multiple of 4, it has neither '-' nor '_', and the decoder turned
 * every character into output (3 bytes per 4 characters, less the padding).
 */
function strictBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || text.indexOf('-') !== -1 || text.indexOf('_') !== -1) return undefined;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === (text.length / 4) * 3 - padding ? bytes : undefined;
}

function readBody(body: unknown, encoding: unknown, problems: string[]): Buffer {
  // kombu's Message: a falsy body is kept as is, so no decoding happens
  if (body == null || body === '') return Buffer.alloc(0);
  if (typeof body !== 'string') {
    problems.push(`"body" must be a string, got ${typeof body}`);
    return Buffer.alloc(0);
  }
  // transport option body_encoding=None: the body is carried raw (kombu decode_body)
  if (encoding == null) return Buffer.from(body, 'utf8');
  if (encoding !== 'base64') {
    problems.push(`unsupported body_encoding ${JSON.stringify(encoding)} (kombu only knows "base64")`);
    return Buffer.alloc(0);
  }
  const bytes = strictBase64(body);
  if (!bytes) {
    problems.push(`body is not valid base64 (${body.length} chars: ${preview(body)})`);
    return Buffer.alloc(0);
  }
  return bytes;
}

function readProperties(props: Record<string, unknown>): MessageProperties {
  const out: MessageProperties = {};
  // for-in over JSON.parse's plain object: its own keys in order, without an array of pairs per message
  for (const key in props) {
    const value = props[key];
    switch (key) {
      case 'delivery_info':
      case 'body_encoding':
      case 'delivery_tag':
        // TRANSPORT_PROPERTIES
        break;
      case 'correlation_id':
        if (typeof value === 'string' || typeof value === 'number') out.correlationId = String(value);
        break;
      case 'reply_to':
        if (typeof value === 'string' || typeof value === 'number') out.replyTo = String(value);
        break;
      case 'delivery_mode':
        if (value === 1 || value === 2) out.deliveryMode = value;
        break;
      case 'priority':
        if (typeof value === 'number') out.priority = value;
        break;
      case 'expiration':
        if (typeof value === 'string' || typeof value === 'number') out.expiration = String(value);
        break;
      default:
        out[key] = value;
    }
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function preview(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
}
