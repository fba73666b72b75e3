import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAmqpEndpoint } from './amqp/amqp-url.js';
import { parseRedisUrl } from './redis/redis-url.js';
import { readSslOptions, resolveSsl, TlsConfigError, tlsConnectionOptions } from './tls-options.js';
import { readBrokerTransportOptions, readResultBackendTransportOptions, TransportOptionsError } from './transport-options.js';

describe('TLS settings (broker_use_ssl, redis_backend_use_ssl, ssl_* URL query)', () => {
  let dir: string;
  let ca: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tls-options-'));
    ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("Celery's, kombu's and py-amqp's spellings all mean the same", () => {
    const expected = { caCerts: '/ca', certfile: '/c', keyfile: '/k', certReqs: 'required' };
    expect(readSslOptions({ ssl_ca_certs: '/ca', ssl_certfile: '/c', ssl_keyfile: '/k', ssl_cert_reqs: 'CERT_REQUIRED' }, 'x')).toEqual(expected);
    expect(readSslOptions({ ca_certs: '/ca', certfile: '/c', keyfile: '/k', cert_reqs: 2 }, 'x')).toEqual(expected);
    expect(readSslOptions({ caCerts: '/ca', certfile: '/c', keyfile: '/k', certReqs: 'required' }, 'x')).toEqual(expected);
    expect(readSslOptions({ ssl_cert_reqs: 'none', ssl_check_hostname: 'false', server_hostname: 'rabbit' }, 'x')).toEqual({
      certReqs: 'none',
      checkHostname: false,
      serverHostname: 'rabbit',
    });
  });

  test('an unknown key or verify mode is refused, naming the setting', () => {
    expect(() => readSslOptions({ ssl_ca_cert: '/ca' }, 'broker_use_ssl')).toThrow(/unknown TLS option "ssl_ca_cert" in broker_use_ssl/);
    expect(() => readSslOptions({ ssl_cert_reqs: 'maybe' }, 'broker_use_ssl')).toThrow(TlsConfigError);
    expect(() => resolveSsl(false, undefined, 'yes' as never, 'broker_use_ssl')).toThrow(/broker_use_ssl must be true, false or an object/);
  });

  test('Node tls options: files read, verification on unless certReqs is none', () => {
    const tls = tlsConnectionOptions({ caCerts: ca, serverHostname: 'rabbit' }, 'x');
    expect(tls.rejectUnauthorized).toBe(true);
    expect(String(tls.ca)).toContain('not checked here');
    expect(tls.servername).toBe('rabbit');
    expect(tlsConnectionOptions({ certReqs: 'none' }, 'x').rejectUnauthorized).toBe(false);
    expect(tlsConnectionOptions({ certReqs: 'optional' }, 'x').rejectUnauthorized).toBe(true);
    expect(tlsConnectionOptions({ checkHostname: false }, 'x').checkServerIdentity?.('h', {} as never)).toBeUndefined();
    expect(() => tlsConnectionOptions({ keyfile: join(dir, 'missing.key') }, 'broker_use_ssl')).toThrow(
      /cannot read the ssl_keyfile file ".*missing.key" given in broker_use_ssl/,
    );
  });

  test('AMQP: ssl_* keys leave the URL amqplib sees; they or broker_use_ssl make amqp:// TLS; the URL wins', () => {
    const q = `ssl_ca_certs=${encodeURIComponent(ca)}&ssl_cert_reqs=required`;
    const e = parseAmqpEndpoint(`amqp://u:p@h:5671//?heartbeat=5&${q}`);
    expect(e.url).toBe('amqps://u:p@h:5671//?heartbeat=5');
    expect(e.tls).toMatchObject({ rejectUnauthorized: true });
    expect(parseAmqpEndpoint('amqp://h//').tls).toBeUndefined();
    expect(parseAmqpEndpoint('amqps://h//').tls).toEqual({ rejectUnauthorized: true });
    expect(parseAmqpEndpoint('amqp://h//', { ssl: true })).toEqual({ url: 'amqps://h//', tls: { rejectUnauthorized: true } });
    expect(parseAmqpEndpoint('amqps://h//?ssl_cert_reqs=none', { ssl: { certReqs: 'required', serverHostname: 's' } }).tls).toMatchObject({
      rejectUnauthorized: false,
      servername: 's',
    });
    expect(parseAmqpEndpoint('amqp://h//', { ssl: false }).tls).toBeUndefined();
  });

  test('Redis: rediss:// verifies by default; ssl_* and redis_backend_use_ssl set the rest', () => {
    expect(parseRedisUrl('rediss://h:6380/1').options.tls).toEqual({ rejectUnauthorized: true });
    expect(parseRedisUrl('redis://h/0').options.tls).toBeUndefined();
    expect(parseRedisUrl(`redis://h/0?ssl_ca_certs=${encodeURIComponent(ca)}`).options.tls).toMatchObject({ rejectUnauthorized: true });
    expect(parseRedisUrl('redis://h/0', { ssl_cert_reqs: 'none' } as never, 'redis_backend_use_ssl').options.tls).toEqual({ rejectUnauthorized: false });
    expect(() => parseRedisUrl('redis://h/0', { nope: 1 } as never, 'redis_backend_use_ssl')).toThrow(/"nope" in redis_backend_use_ssl/);
  });
});

describe('broker_transport_options / result_backend_transport_options', () => {
  test("the keys a transport honours, coerced; the other transport's keys are ignored", () => {
    expect(readBrokerTransportOptions({ visibility_timeout: '7200', global_keyprefix: 'p:', confirm_publish: true }, 'redis')).toEqual({
      visibility_timeout: 7200,
      global_keyprefix: 'p:',
    });
    expect(readBrokerTransportOptions({ visibilityTimeout: 60, confirm_publish: 'false' }, 'amqp')).toEqual({ confirm_publish: false });
    expect(readResultBackendTransportOptions({ global_keyprefix: 'app' }, 'redis')).toEqual({ global_keyprefix: 'app' });
    expect(readBrokerTransportOptions(undefined, 'redis')).toEqual({});
  });

  test('unknown keys and bad values are refused with what is supported', () => {
    expect(() => readBrokerTransportOptions({ max_retries: 3 }, 'redis')).toThrow(
      /unknown broker_transport_options key "max_retries"; supported: visibility_timeout, global_keyprefix, confirm_publish/,
    );
    expect(() => readBrokerTransportOptions({ visibility_timeout: -1 }, 'redis')).toThrow(/visibility_timeout must be a positive number/);
    expect(() => readBrokerTransportOptions({ visibility_timeout: 'soon' }, 'redis')).toThrow(TransportOptionsError);
    expect(() => readResultBackendTransportOptions({ retry_policy: {} }, 'redis')).toThrow(/unknown result_backend_transport_options key/);
  });
});
