/** The Redis family's entry point: the kombu-compatible broker and the Celery result backend. */
export { RedisBroker, RedisBrokerError, type RedisBrokerOptions } from './broker/redis.broker.js';
export { RedisBackend, type RedisBackendOptions } from './backend/redis.backend.js';
export { type SentinelOptions } from './redis-url.js';
export { RedisClusterUnsupportedError } from './redis-connection.js';
