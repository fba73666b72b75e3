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
import { DecodeError } from './errors.js';
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
  /** set when the envelope was readable but not entirely (bad base64, no delivery_tag, …) */
  error?: DecodeError;
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

/**
 * Read an envelope. Throws DecodeError when the text is not JSON or not a JSON object (nothing
 * can be recovered). Anything else kombu could not have handled is reported in `error` while
 * what was readable (headers, hence the task id) is still returned.
 */
export function decodeEnvelope(raw: string, headerLimits: HeaderLimits = DEFAULT_HEADER_LIMITS): DecodedEnvelope {
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
    decoded.error = new DecodeError(
      `unreadable kombu envelope${taskId ? ` for task ${taskId}` : ''}: ${problems.join('; ')}`,
      taskId,
    );
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
  const [envelope, exchange, routingKey] = parsed;
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

function readHeaders(value: unknown, problems: string[]): Record<string, unknown> {
  if (value == null) return {};
  if (isObject(value)) return value;
  problems.push('"headers" is not an object');
  return {};
}

/** Strict base64 (Python's b64encode output): Node's decoder silently skips bad characters. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

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
  if (!BASE64.test(body)) {
    problems.push(`body is not valid base64 (${body.length} chars: ${preview(body)})`);
    return Buffer.alloc(0);
  }
  return Buffer.from(body, 'base64');
}

function readProperties(props: Record<string, unknown>): MessageProperties {
  const out: MessageProperties = {};
  for (const [key, value] of Object.entries(props)) {
    if (TRANSPORT_PROPERTIES.has(key)) continue;
    switch (key) {
      case 'correlation_id':
        if (value != null) out.correlationId = String(value);
        break;
      case 'reply_to':
        if (value != null) out.replyTo = String(value);
        break;
      case 'delivery_mode':
        if (value === 1 || value === 2) out.deliveryMode = value;
        break;
      case 'priority':
        if (typeof value === 'number') out.priority = value;
        break;
      case 'expiration':
        if (value != null) out.expiration = String(value);
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
