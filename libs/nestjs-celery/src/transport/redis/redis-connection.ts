/** Opening one ioredis connection for the Redis broker: named, logged, never an unhandled 'error'. */
import type { Redis, RedisOptions } from 'ioredis';
import { loadDriver } from '../driver-loader.js';
import type { CeleryLogger } from '../../common/logger.js';
import type { ConnectionStatus } from '../connection-status.js';
import type { RedisEndpoint } from './redis-url.js';

export interface RedisConnectionOptions {
  /** what the connection is for: broker, consumer, fanout (shown in CLIENT LIST and in logs) */
  role: string;
  logger: CeleryLogger;
  redisOptions?: RedisOptions;
  /** called on every state change after the first successful connect */
  onStatus?: (status: Exclude<ConnectionStatus, 'connecting' | 'closed'>) => void;
}

/** Connect to `endpoint`; rejects (and stops retrying) when the first attempt fails. */
export async function openRedisConnection(endpoint: RedisEndpoint, options: RedisConnectionOptions): Promise<Redis> {
  const { role, logger, redisOptions = {}, onStatus } = options;
  const client = new (loadDriver('ioredis').Redis)({
    ...endpoint.options,
    ...redisOptions,
    lazyConnect: true,
    // CLIENT LIST shows which process and role a connection serves
    connectionName: `${redisOptions.connectionName ?? 'nestjs-celery'}-${role}`,
  });
  let lastError = '';
  let firstError: Error | undefined;
  client.on('error', (err: Error) => {
    firstError ??= err;
    // ioredis repeats the error on every reconnect attempt: log each distinct one once
    if (err.message === lastError) return;
    lastError = err.message;
    logger.warn(`Redis ${role} connection to ${endpoint.display}: ${err.message}`);
  });
  client.on('ready', () => {
    if (lastError) logger.log(`Redis ${role} connection to ${endpoint.display} is back`);
    lastError = '';
    onStatus?.('connected');
  });
  if (onStatus) {
    client.on('reconnecting', () => onStatus('reconnecting'));
    client.on('close', () => onStatus('disconnected'));
  }
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    // ioredis rejects with "Connection is closed."; the cause (a TLS or socket error) came first
    throw firstError ?? err;
  }
  return client;
}
