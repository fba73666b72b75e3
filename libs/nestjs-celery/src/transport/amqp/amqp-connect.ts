/** Opening a connection from a failover list, and the backoff between recovery rounds. */
import type { ChannelModel } from 'amqplib';
import { loadDriver } from '../driver-loader.js';
import { AmqpConnectionError } from './amqp-errors.js';
import { redactAmqpUrl, type AmqpEndpoint } from './amqp-url.js';
import { tlsErrorHint } from '../tls-options.js';
import type { FailoverStrategy } from '../transport-options.js';

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
  /** the URL's place in the failover list */
  index: number;
}

/** The order in which one connect round tries the `count` URLs, after losing the one at `lost` (if any). */
export function failoverOrder(count: number, strategy: FailoverStrategy, lost?: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  if (strategy === 'shuffle') {
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  }
  const first = lost === undefined ? 0 : (lost + 1) % count;
  return order.map((i) => (i + first) % count);
}

/** Try the URLs in `order` (default: as listed); the first that opens wins. */
export async function connectFirst(
  endpoints: readonly AmqpEndpoint[],
  options: AmqpConnectOptions,
  order: readonly number[] = endpoints.map((_, i) => i),
): Promise<OpenedConnection> {
  const { connect } = loadDriver('amqplib');
  const failures: string[] = [];
  for (const index of order) {
    const { url, tls } = endpoints[index];
    try {
      const model = await connect(url, {
        // TCP_NODELAY, as py-amqp sets it: a lone publish, ack or confirm must not wait on Nagle's algorithm
        noDelay: true,
        ...options.socketOptions,
        ...tls,
        timeout: options.connectTimeoutMs,
        clientProperties: options.connectionName ? { connection_name: options.connectionName } : undefined,
      });
      return { model, url, index };
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
