/** TransportMessage ⇄ amqplib's publish options and delivered messages (AMQP basic properties). */
import type { Message, Options } from 'amqplib';
import type { TransportMessage } from '../../protocol/transport-message.js';
import { decodeAmqpTable, encodeAmqpTable } from './amqp-headers.js';

/** amqplib's publish options for `message` (headers re-typed for py-amqp, see amqp-headers.ts). */
export function toPublishOptions(message: TransportMessage, mandatory = false): Options.Publish {
  const p = message.properties;
  return {
    contentType: message.contentType,
    contentEncoding: message.contentEncoding,
    headers: encodeAmqpTable(message.headers),
    correlationId: p.correlationId,
    replyTo: p.replyTo,
    deliveryMode: p.deliveryMode,
    priority: p.priority,
    // AMQP `expiration` is a shortstr of milliseconds
    expiration: p.expiration === undefined || p.expiration === null ? undefined : String(p.expiration),
    messageId: p.messageId as string | undefined,
    timestamp: p.timestamp as number | undefined,
    type: p.type as string | undefined,
    userId: p.userId as string | undefined,
    appId: p.appId as string | undefined,
    mandatory,
  };
}

const present = (value: unknown): boolean => value !== undefined && value !== null;

/** The TransportMessage a delivered (or returned) amqplib message carries. */
export function fromAmqpMessage(msg: Message): TransportMessage {
  const src = msg.properties;
  // the basic properties besides content type/encoding and headers, under amqplib's names, each
  // read by name (a loop over the names made a keyed read per name and message)
  const properties: Record<string, unknown> = {};
  if (present(src.correlationId)) properties.correlationId = src.correlationId;
  if (present(src.replyTo)) properties.replyTo = src.replyTo;
  if (present(src.deliveryMode)) properties.deliveryMode = src.deliveryMode;
  if (present(src.priority)) properties.priority = src.priority;
  if (present(src.expiration)) properties.expiration = src.expiration;
  if (present(src.messageId)) properties.messageId = src.messageId;
  if (present(src.timestamp)) properties.timestamp = src.timestamp;
  if (present(src.type)) properties.type = src.type;
  if (present(src.userId)) properties.userId = src.userId;
  if (present(src.appId)) properties.appId = src.appId;
  if (present(src.clusterId)) properties.clusterId = src.clusterId;
  return {
    body: msg.content,
    contentType: (src.contentType as string | undefined) ?? '',
    contentEncoding: (src.contentEncoding as string | undefined) ?? '',
    headers: decodeAmqpTable(src.headers),
    properties,
  };
}
