import { connectionOptionsFromEnv, signalOptionsFromEnv } from './celery-env.js';

describe('connectionOptionsFromEnv (CELERY_* variables)', () => {
  test('URLs, *_USE_SSL as true or JSON, transport options as JSON; unset ones left out', () => {
    expect(connectionOptionsFromEnv({})).toEqual({});
    expect(
      connectionOptionsFromEnv({
        CELERY_BROKER_URL: 'amqps://h//',
        CELERY_RESULT_BACKEND: 'rediss://h/0',
        CELERY_BROKER_USE_SSL: 'true',
        CELERY_REDIS_BACKEND_USE_SSL: '{"ssl_ca_certs": "/ca.pem"}',
        CELERY_BROKER_TRANSPORT_OPTIONS: '{"visibility_timeout": 7200}',
        CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS: '{"global_keyprefix": "app"}',
      }),
    ).toEqual({
      broker: 'amqps://h//',
      backend: 'rediss://h/0',
      brokerUseSsl: true,
      redisBackendUseSsl: { ssl_ca_certs: '/ca.pem' },
      brokerTransportOptions: { visibility_timeout: 7200 },
      resultBackendTransportOptions: { global_keyprefix: 'app' },
    });
    expect(connectionOptionsFromEnv({ CELERY_BROKER_USE_SSL: 'false' })).toEqual({ brokerUseSsl: false });
  });

  test('a variable that is not JSON names itself', () => {
    expect(() => connectionOptionsFromEnv({ CELERY_BROKER_TRANSPORT_OPTIONS: 'visibility_timeout=1' })).toThrow(/CELERY_BROKER_TRANSPORT_OPTIONS is not JSON/);
    expect(() => connectionOptionsFromEnv({ CELERY_BROKER_USE_SSL: '[1]' })).toThrow(/CELERY_BROKER_USE_SSL must be a JSON object/);
  });

  test("CELERY_BROKER_FAILOVER_STRATEGY: kombu's names, anything else names the variable", () => {
    expect(connectionOptionsFromEnv({ CELERY_BROKER_FAILOVER_STRATEGY: 'Shuffle' })).toEqual({ brokerFailoverStrategy: 'shuffle' });
    expect(connectionOptionsFromEnv({ CELERY_BROKER_FAILOVER_STRATEGY: 'round-robin' })).toEqual({ brokerFailoverStrategy: 'round-robin' });
    expect(() => connectionOptionsFromEnv({ CELERY_BROKER_FAILOVER_STRATEGY: 'random' })).toThrow(
      /CELERY_BROKER_FAILOVER_STRATEGY must be one of round-robin, shuffle/,
    );
  });

  test('startup retry and logging: Celery names, booleans and numbers checked, Celery level names accepted', () => {
    expect(
      connectionOptionsFromEnv({
        CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP: 'false',
        CELERY_BROKER_CONNECTION_MAX_RETRIES: '5',
        CELERY_BROKER_CONNECTION_TIMEOUT: '2.5',
        CELERY_LOG_LEVEL: 'WARNING',
        CELERY_LOG_FORMAT: 'json',
      }),
    ).toEqual({ brokerConnectionRetryOnStartup: false, brokerConnectionMaxRetries: 5, brokerConnectionTimeout: 2.5, logLevel: 'warn', logFormat: 'json' });
    expect(() => connectionOptionsFromEnv({ CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP: 'maybe' })).toThrow(/must be true or false/);
    expect(() => connectionOptionsFromEnv({ CELERY_BROKER_CONNECTION_MAX_RETRIES: 'ten' })).toThrow(/must be a number/);
    expect(() => connectionOptionsFromEnv({ CELERY_LOG_FORMAT: 'xml' })).toThrow(/CELERY_LOG_FORMAT must be one of text, json/);
  });
});

describe('signalOptionsFromEnv (CELERY_METRICS, CELERY_TRACING)', () => {
  test('true turns each on, false turns it off, unset leaves it out, anything else names the variable', () => {
    expect(signalOptionsFromEnv({})).toEqual({});
    expect(signalOptionsFromEnv({ CELERY_METRICS: 'true', CELERY_TRACING: '1' })).toEqual({ metrics: true, tracing: true });
    expect(signalOptionsFromEnv({ CELERY_METRICS: 'no', CELERY_TRACING: 'false' })).toEqual({ metrics: false, tracing: false });
    expect(() => signalOptionsFromEnv({ CELERY_METRICS: 'prometheus' })).toThrow(/CELERY_METRICS must be true or false/);
  });
});
