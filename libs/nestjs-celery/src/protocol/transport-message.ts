/**
 * A message as a transport carries it: serialized body bytes plus Celery's headers and
 * AMQP-style properties. AMQP maps it 1:1 to a basic message; Redis maps it to kombu's
 * JSON envelope (protocol/kombu-envelope.ts).
 */
export interface TransportMessage {
  /** The serialized (and possibly compressed) body, exactly as on the wire. */
  body: Buffer;
  /** e.g. application/json, application/x-msgpack, application/x-yaml */
  contentType: string;
  /** e.g. utf-8, binary */
  contentEncoding: string;
  /** Celery task headers (protocol v2) or event/pidbox headers; unknown keys are kept. */
  headers: Record<string, unknown>;
  properties: MessageProperties;
}

/** The AMQP message properties Celery uses (kombu's `properties`): RPC replies' correlation id and reply queue, priority, delivery mode. */
export interface MessageProperties {
  correlationId?: string;
  replyTo?: string;
  /** 2 = persistent, 1 = transient */
  deliveryMode?: 1 | 2;
  priority?: number;
  /** per-message TTL in milliseconds, as a decimal string (AMQP `expiration`) */
  expiration?: string;
  /** any other property seen on the wire, kept verbatim */
  [key: string]: unknown;
}
