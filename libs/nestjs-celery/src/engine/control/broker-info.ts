/**
 * The `broker` section of `inspect stats` (kombu `Connection.info()`), read from the app's
 * broker URL: what Flower shows on a worker's page. The password never leaves.
 */

import { redactUrl } from '../../common/redact-url.js';

/** Celery's broker_connection_timeout default, seconds. */
const CONNECT_TIMEOUT = 4;

const DEFAULT_PORTS: Record<string, number> = { amqp: 5672, amqps: 5671, pyamqp: 5672, redis: 6379, rediss: 6379 };

/** `kind` is the broker's label, reported as is (never branched on). */
export function brokerInfo(broker: unknown, kind: string): Record<string, unknown> {
  const first: unknown = Array.isArray(broker) ? broker[0] : broker;
  const base = { transport: kind, transport_options: {}, uri_prefix: null, failover_strategy: 'round-robin', alternates: [] as string[] };
  if (typeof first !== 'string') return base;
  let url: URL;
  try {
    url = new URL(first);
  } catch {
    return base;
  }
  const scheme = url.protocol.replace(/:$/, '');
  const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const amqp = scheme.startsWith('amqp') || scheme === 'pyamqp';
  const heartbeat = Number(url.searchParams.get('heartbeat') ?? NaN);
  // kombu's Connection.info() order, the password left out as Celery's stats does
  return {
    hostname: url.hostname || 'localhost',
    userid: url.username ? decodeURIComponent(url.username) : null,
    // the URL's scheme, not the broker's name, says how an empty path reads (Redis db 0, AMQP vhost /)
    virtual_host: scheme.startsWith('redis') ? path || '0' : path || '/',
    port: url.port ? Number(url.port) : (DEFAULT_PORTS[scheme] ?? null),
    insist: false,
    ssl: scheme === 'amqps' || scheme === 'rediss',
    transport: kind,
    connect_timeout: CONNECT_TIMEOUT,
    transport_options: {},
    // amqplib logs in with SASL PLAIN, as py-amqp; Redis has no login method
    login_method: amqp ? 'PLAIN' : null,
    uri_prefix: null,
    // the AMQP heartbeat the URL asks for; none known otherwise
    heartbeat: Number.isFinite(heartbeat) ? heartbeat : null,
    failover_strategy: 'round-robin',
    alternates: Array.isArray(broker) ? broker.slice(1).map((u) => redactUrl(String(u), '**')) : [],
  };
}
