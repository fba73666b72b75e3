/** TransportMessage ⇄ amqplib's publish options and delivered messages (AMQP basic properties). */
import type { Message, Options } from 'amqplib';
import type { TransportMessage } from '../../protocol/transport-message.js';
import { decodeAmqpTable, encodeAmqpTable } from './amqp-headers.js';

/** Basic properties besides content type/encoding and headers, under amqplib's names. */
const PROPERTY_KEYS = [
  'correlationId',
  'replyTo',
  'deliveryMode',
  'priority',
  'expiration',
  'messageId',
  'timestamp',
  'type',
  'userId',
  'appId',
  'clusterId',
] as const;

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

/** The TransportMessage a delivered (or returned) amqplib message carries. */
export function fromAmqpMessage(msg: Message): TransportMessage {
  const src = msg.properties;
  const properties: Record<string, unknown> = {};
  for (const key of PROPERTY_KEYS) {
    const value: unknown = src[key];
    if (value !== undefined && value !== null) properties[key] = value;
  }
  return {
    body: msg.content,
    contentType: (src.contentType as string | undefined) ?? '',
    contentEncoding: (src.contentEncoding as string | undefined) ?? '',
    headers: decodeAmqpTable(src.headers),
    properties,
  };
}
