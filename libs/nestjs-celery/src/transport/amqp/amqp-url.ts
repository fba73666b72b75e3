/**
 * Broker URLs as Celery users write them, turned into what amqplib accepts.
 * - `pyamqp://` (kombu's py-amqp transport) is plain `amqp://`;
 * - kombu writes the vhost `/` as a trailing `//`; amqplib reads the path after the first
 *   slash as the vhost, so `amqp://h:5672//` already means vhost `/` (and `/` or none too);
 * - several URLs separated by `;` are a failover list (kombu's `broker_url` syntax);
 * - kombu's `ssl_*` query keys (`?ssl_cert_reqs=required&ssl_ca_certs=/ca.pem`) and
 *   `broker_use_ssl` turn on TLS (amqp:// becomes amqps://, default port 5671, as in kombu).
 */
import type { ConnectionOptions } from 'node:tls';
import { AmqpConfigError } from './amqp-errors.js';
import { redactUrl } from '../../common/redact-url.js';
import { resolveSsl, takeSslQuery, tlsConnectionOptions, type SslOptions } from '../tls-options.js';

const SCHEMES: Record<string, string> = { 'amqp:': 'amqp:', 'pyamqp:': 'amqp:', 'amqps:': 'amqps:' };

export interface AmqpUrlOptions {
  /** AMQP heartbeat to ask for, unless the URL carries `?heartbeat=` itself */
  heartbeatSeconds?: number;
  /** Celery's broker_use_ssl: true or TLS settings turn TLS on; a URL's ssl_* keys win */
  ssl?: boolean | SslOptions;
}

/** One broker URL ready for amqplib's `connect`, with the TLS socket options it needs. */
export interface AmqpEndpoint {
  url: string;
  tls?: ConnectionOptions;
}

/** One URL, ready for amqplib's `connect`. */
export function normalizeAmqpUrl(url: string, options: AmqpUrlOptions = {}): string {
  return parseAmqpEndpoint(url, options).url;
}

/** One URL, ready for amqplib's `connect`, and its TLS options when it uses TLS. */
export function parseAmqpEndpoint(url: string, options: AmqpUrlOptions = {}): AmqpEndpoint {
  const trimmed = url.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(trimmed)?.[0].toLowerCase();
  const target = scheme && SCHEMES[scheme];
  if (!target) {
    throw new AmqpConfigError(`unsupported broker URL ${redactAmqpUrl(trimmed)} for the RabbitMQ broker; use amqp://, amqps:// or pyamqp://`);
  }
  let parsed: URL;
  try {
    parsed = new URL(target + trimmed.slice(scheme.length));
  } catch (error) {
    // not chained as the cause: Node's URL error carries the whole input, password included
    throw new AmqpConfigError(`broker URL ${redactAmqpUrl(trimmed)} is not a valid URL (${(error as Error).message})`);
  }
  if (!parsed.hostname) parsed.hostname = 'localhost';
  if (options.heartbeatSeconds !== undefined && !parsed.searchParams.has('heartbeat')) {
    if (!(options.heartbeatSeconds >= 0)) {
      throw new AmqpConfigError(`heartbeatSeconds must be 0 (off) or a positive number, got ${options.heartbeatSeconds}`);
    }
    parsed.searchParams.set('heartbeat', String(Math.round(options.heartbeatSeconds)));
  }
  const where = `broker URL ${redactAmqpUrl(trimmed)}`;
  const ssl = resolveSsl(parsed.protocol === 'amqps:', takeSslQuery(parsed, where), options.ssl, 'broker_use_ssl');
  if (!ssl) return { url: parsed.toString() };
  parsed.protocol = 'amqps:';
  return { url: parsed.toString(), tls: tlsConnectionOptions(ssl, `${where} / broker_use_ssl`) };
}

/** The failover list: an array, or one string with `;`-separated URLs. */
export function parseAmqpUrls(url: string | string[], options: AmqpUrlOptions = {}): string[] {
  return parseAmqpEndpoints(url, options).map((e) => e.url);
}

/** The failover list with each URL's TLS options. */
export function parseAmqpEndpoints(url: string | string[], options: AmqpUrlOptions = {}): AmqpEndpoint[] {
  const list = (Array.isArray(url) ? url : url.split(';')).map((u) => u.trim()).filter((u) => u.length > 0);
  if (list.length === 0) throw new AmqpConfigError('no broker URL given; pass e.g. amqp://guest:guest@localhost:5672//');
  return list.map((u) => parseAmqpEndpoint(u, options));
}

/** The URL with its password masked, for logs and error messages. */
export function redactAmqpUrl(url: string): string {
  return redactUrl(url, '****');
}
