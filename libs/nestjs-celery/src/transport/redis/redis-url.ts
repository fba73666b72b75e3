/**
 * Broker URLs as kombu reads them for Redis: redis://[user:password@]host[:port][/db] and
 * rediss:// for TLS (kombu/transport/redis.py `_connparams`, `_prepare_virtual_host`), with
 * kombu's `ssl_*` query keys (`?ssl_cert_reqs=required&ssl_ca_certs=/ca.pem`).
 */
import type { RedisOptions } from 'ioredis';
import { redactUrl } from '../../common/redact-url.js';
import { resolveSsl, takeSslQuery, tlsConnectionOptions, type SslOptions } from '../tls-options.js';

export class RedisUrlError extends Error {
  constructor(url: string, problem: string) {
    super(`invalid Redis URL "${redactUrl(url)}": ${problem}; use redis://[user:password@]host[:port][/db] or rediss://…`);
    this.name = 'RedisUrlError';
  }
}

export interface RedisEndpoint {
  /** the URL with its password hidden, for logs and errors */
  display: string;
  db: number;
  options: RedisOptions;
}

/**
 * Parse one redis:// or rediss:// URL into ioredis connection options. TLS is on for rediss://,
 * for `ssl_*` query keys and for `useSsl` (Celery's broker_use_ssl / redis_backend_use_ssl,
 * named by `setting` in errors); the URL's keys win.
 */
export function parseRedisUrl(url: string, useSsl?: boolean | SslOptions, setting = 'broker_use_ssl'): RedisEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisUrlError(url, 'not a URL');
  }
  const scheme = parsed.protocol.replace(/:$/, '').toLowerCase();
  if (scheme !== 'redis' && scheme !== 'rediss') throw new RedisUrlError(url, `scheme "${scheme}" is not redis or rediss`);
  const path = decodeURIComponent(parsed.pathname).replace(/^\//, '');
  // kombu: an empty vhost or "/" is db 0; anything else must be an integer
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) throw new RedisUrlError(url, `database "${path}" is not an integer ≥ 0`);
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    db,
  };
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  const where = `Redis URL ${redactUrl(url)}`;
  const ssl = resolveSsl(scheme === 'rediss', takeSslQuery(parsed, where), useSsl, setting);
  if (ssl) options.tls = tlsConnectionOptions(ssl, `${where} / ${setting}`);
  return { display: redactUrl(url), db, options };
}

/** A failover list: an array, or one string separated by ';' (Celery's broker_url form). */
export function parseRedisUrls(url: string | string[], useSsl?: boolean | SslOptions): RedisEndpoint[] {
  const urls = (Array.isArray(url) ? url : url.split(';')).map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) throw new RedisUrlError(String(url), 'no URL given');
  return urls.map((u) => parseRedisUrl(u, useSsl));
}
