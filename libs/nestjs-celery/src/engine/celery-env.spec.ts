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
});

describe('signalOptionsFromEnv (CELERY_METRICS, CELERY_TRACING)', () => {
  test('true turns each on, false turns it off, unset leaves it out, anything else names the variable', () => {
    expect(signalOptionsFromEnv({})).toEqual({});
    expect(signalOptionsFromEnv({ CELERY_METRICS: 'true', CELERY_TRACING: '1' })).toEqual({ metrics: true, tracing: true });
    expect(signalOptionsFromEnv({ CELERY_METRICS: 'no', CELERY_TRACING: 'false' })).toEqual({ metrics: false, tracing: false });
    expect(() => signalOptionsFromEnv({ CELERY_METRICS: 'prometheus' })).toThrow(/CELERY_METRICS must be true or false/);
  });
});
