/**
 * Broker URLs as kombu reads them for Redis: redis://[user:password@]host[:port][/db] and
 * rediss:// for TLS (kombu/transport/redis.py `_connparams`, `_prepare_virtual_host`), with
 * kombu's `ssl_*` query keys (`?ssl_cert_reqs=required&ssl_ca_certs=/ca.pem`), and Redis Sentinel
 * as kombu and Celery write it: `sentinel://[:password@]host:port[/db];sentinel://host:port…` with
 * the master's name in the transport options.
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

/** Redis Sentinel settings from the transport options (kombu's and Celery's names). */
export interface SentinelOptions {
  /** the monitored master's name (`master_name`): required with sentinel:// URLs */
  masterName?: string;
  /** credentials for the sentinels themselves (`sentinel_kwargs`: password, username) */
  sentinelPassword?: string;
  sentinelUsername?: string;
}

const listOf = (url: string | string[]) => (Array.isArray(url) ? url : url.split(';')).map((u) => u.trim()).filter(Boolean);

/** Whether the URL (or failover list) names Redis Sentinels (`sentinel://…`). */
export function isSentinelUrl(url: string | string[]): boolean {
  return /^sentinel:/i.test(listOf(url)[0] ?? '');
}

/**
 * The sentinels of a `sentinel://h1:p1;sentinel://h2:p2` list as ONE endpoint: ioredis asks them
 * for the master named `masterName` and asks again after a failover. The first URL's password and
 * db are the master's (kombu and Celery read them so); the sentinels' own credentials come from
 * `sentinel_kwargs`.
 */
export function parseSentinelUrls(url: string | string[], sentinel: SentinelOptions, setting: string): RedisEndpoint {
  const urls = listOf(url);
  const display = urls.map((u) => redactUrl(u)).join(';');
  if (!sentinel.masterName) {
    throw new RedisUrlError(display, `a sentinel:// URL needs the master's name: set ${setting} = { master_name: 'mymaster' }`);
  }
  const parsed = urls.map((u) => {
    if (!/^sentinel:/i.test(u)) throw new RedisUrlError(u, 'a sentinel:// list cannot mix in other schemes');
    const asRedis = `redis:${u.slice(u.indexOf(':') + 1)}`;
    const endpoint = parseRedisUrl(asRedis);
    // kombu's sentinel transport: port 26379 unless given
    return { ...endpoint, sentinel: { host: endpoint.options.host, port: new URL(asRedis).port ? endpoint.options.port : 26379 } };
  });
  const first = parsed[0].options;
  const options: RedisOptions = {
    sentinels: parsed.map((e) => e.sentinel),
    name: sentinel.masterName,
    role: 'master',
    db: parsed[0].db,
  };
  if (first.username) options.username = first.username;
  if (first.password) options.password = first.password;
  if (sentinel.sentinelPassword) options.sentinelPassword = sentinel.sentinelPassword;
  if (sentinel.sentinelUsername) options.sentinelUsername = sentinel.sentinelUsername;
  return { display: `${display} (master ${sentinel.masterName})`, db: parsed[0].db, options };
}

/**
 * A failover list: an array, or one string separated by ';' (Celery's broker_url form); a list
 * of sentinel:// URLs is one endpoint, the master its sentinels name.
 */
export function parseRedisUrls(url: string | string[], useSsl?: boolean | SslOptions, sentinel: SentinelOptions = {}): RedisEndpoint[] {
  const urls = listOf(url);
  if (urls.length === 0) throw new RedisUrlError(String(url), 'no URL given');
  if (isSentinelUrl(urls)) return [parseSentinelUrls(urls, sentinel, 'broker_transport_options')];
  return urls.map((u) => parseRedisUrl(u, useSsl));
}
