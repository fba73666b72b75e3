/** Opening a connection from a failover list, and the backoff between recovery rounds. */
import type { ChannelModel } from 'amqplib';
import { loadDriver } from '../driver-loader.js';
import { AmqpConnectionError } from './amqp-errors.js';
import { redactAmqpUrl, type AmqpEndpoint } from './amqp-url.js';
import { tlsErrorHint } from '../tls-options.js';

export interface AmqpConnectOptions {
  /** shown by RabbitMQ as the connection's user-provided name (management UI, rabbitmqctl) */
  connectionName?: string;
  connectTimeoutMs: number;
  /** extra socket/TLS options for amqplib (ca, cert, key, servername …) */
  socketOptions?: Record<string, unknown>;
}

export interface OpenedConnection {
  model: ChannelModel;
  url: string;
}

/** Try each URL in order; the first that opens wins. */
export async function connectFirst(endpoints: readonly AmqpEndpoint[], options: AmqpConnectOptions): Promise<OpenedConnection> {
  const { connect } = loadDriver('amqplib');
  const failures: string[] = [];
  for (const { url, tls } of endpoints) {
    try {
      const model = await connect(url, {
        ...options.socketOptions,
        ...tls,
        timeout: options.connectTimeoutMs,
        clientProperties: options.connectionName ? { connection_name: options.connectionName } : undefined,
      });
      return { model, url };
    } catch (err) {
      failures.push(`${redactAmqpUrl(url)}: ${(err as Error).message || String(err)}${tlsErrorHint(err)}`);
    }
  }
  throw new AmqpConnectionError(
    `could not connect to RabbitMQ (${failures.join('; ')}); check that the broker is running and the URL, ` + 'credentials and vhost are right',
  );
}

export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Exponential backoff with ±20% jitter, capped at maxDelayMs; `attempt` starts at 1. */
export function backoffDelay(attempt: number, { initialDelayMs, maxDelayMs }: BackoffOptions): number {
  const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.min(maxDelayMs, Math.round(base * (0.8 + Math.random() * 0.4)));
}
