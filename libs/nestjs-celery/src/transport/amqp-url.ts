/**
 * Broker URLs as Celery users write them, turned into what amqplib accepts.
 * - `pyamqp://` (kombu's py-amqp transport) is plain `amqp://`;
 * - kombu writes the vhost `/` as a trailing `//`; amqplib reads the path after the first
 *   slash as the vhost, so `amqp://h:5672//` already means vhost `/` (and `/` or none too);
 * - several URLs separated by `;` are a failover list (kombu's `broker_url` syntax).
 */
import { AmqpConfigError } from './amqp-errors.js';
import { redactUrl } from '../common/redact-url.js';

const SCHEMES: Record<string, string> = { 'amqp:': 'amqp:', 'pyamqp:': 'amqp:', 'amqps:': 'amqps:' };

export interface AmqpUrlOptions {
  /** AMQP heartbeat to ask for, unless the URL carries `?heartbeat=` itself */
  heartbeatSeconds?: number;
}

/** One URL, ready for amqplib's `connect`. */
export function normalizeAmqpUrl(url: string, options: AmqpUrlOptions = {}): string {
  const trimmed = url.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(trimmed)?.[0].toLowerCase();
  const target = scheme && SCHEMES[scheme];
  if (!target) {
    throw new AmqpConfigError(
      `unsupported broker URL ${redactAmqpUrl(trimmed)} for the RabbitMQ broker; use amqp://, amqps:// or pyamqp://`,
    );
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
  return parsed.toString();
}

/** The failover list: an array, or one string with `;`-separated URLs. */
export function parseAmqpUrls(url: string | string[], options: AmqpUrlOptions = {}): string[] {
  const list = (Array.isArray(url) ? url : url.split(';')).map((u) => u.trim()).filter((u) => u.length > 0);
  if (list.length === 0) throw new AmqpConfigError('no broker URL given; pass e.g. amqp://guest:guest@localhost:5672//');
  return list.map((u) => normalizeAmqpUrl(u, options));
}

/** The URL with its password masked, for logs and error messages. */
export function redactAmqpUrl(url: string): string {
  return redactUrl(url, '****');
}
