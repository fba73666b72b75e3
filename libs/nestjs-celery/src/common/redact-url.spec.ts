import { redactSecrets, redactUrl } from './redact-url.js';

describe('redaction of credentials', () => {
  test.each([
    ['amqp://guest:secret@host:5672//', 'amqp://guest:***@host:5672//'],
    // issue 12: an @ in the password leaked its tail
    ['amqp://guest:p@ss@w0rd@host//', 'amqp://guest:***@host//'],
    ['amqp://guest:pa/ss?x#y@host//', 'amqp://guest:***@host//'],
    ['redis://:secret@127.0.0.1:6379/0', 'redis://:***@127.0.0.1:6379/0'],
    ['rediss://user:s3cr%40t@h:6380/1?ssl_cert_reqs=required', 'rediss://user:***@h:6380/1?ssl_cert_reqs=required'],
    ['redis://h:6379/0?password=hunter2&db=1', 'redis://h:6379/0?password=***&db=1'],
    ['sentinel://:pw1@h1:26379;sentinel://:pw2@h2:26379', 'sentinel://:***@h1:26379;sentinel://:***@h2:26379'],
    ['amqp://u:a@h1//, amqp://u:b@h2//', 'amqp://u:***@h1//, amqp://u:***@h2//'],
    ['amqps://h//?ssl_password=x&api_key=k&heartbeat=10', 'amqps://h//?ssl_password=***&api_key=***&heartbeat=10'],
    ['amqp://host:5672//', 'amqp://host:5672//'],
    ['amqp://user@host//', 'amqp://user@host//'],
    ['cannot connect to amqp://u:p@h//: ECONNREFUSED', 'cannot connect to amqp://u:***@h//: ECONNREFUSED'],
  ])('%s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  test('the mask is a parameter', () => {
    expect(redactUrl('amqp://u:p@h//', '****')).toBe('amqp://u:****@h//');
  });

  test('option objects: secret keys masked at any depth, URLs redacted, key material hidden, the rest kept', () => {
    const options = {
      visibility_timeout: 3600,
      master_name: 'mymaster',
      sentinel_kwargs: { password: 'sentinel-secret', socket_timeout: 1 },
      ssl: { ca: '/etc/ca.pem', key: Buffer.from('-----BEGIN PRIVATE KEY-----'), passphrase: 'pp', servername: 'h' },
      fallback: ['redis://:pw@h2:6379/0'],
      token: null,
    };
    expect(redactSecrets(options)).toEqual({
      visibility_timeout: 3600,
      master_name: 'mymaster',
      sentinel_kwargs: { password: '***', socket_timeout: 1 },
      ssl: { ca: '/etc/ca.pem', key: '***', passphrase: '***', servername: 'h' },
      fallback: ['redis://:***@h2:6379/0'],
      token: null,
    });
    expect(JSON.stringify(redactSecrets(options))).not.toMatch(/secret|pp"|pw@|PRIVATE/);
  });

  test('where URLs reach logs and errors: Redis endpoints, AMQP URL errors, unsupported URLs', async () => {
    const { parseRedisUrl } = await import('../transport/redis/redis-url.js');
    const { normalizeAmqpUrl } = await import('../transport/amqp/amqp-url.js');
    const { createBroker } = await import('../transport/factory.js');
    expect(parseRedisUrl('redis://:p@ss@127.0.0.1:6379/0').display).toBe('redis://:***@127.0.0.1:6379/0');
    let error: Error | undefined;
    try {
      normalizeAmqpUrl('amqp://guest:p@ss word@[bad//');
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(/amqp:\/\/guest:\*\*\*\*@/);
    expect(JSON.stringify({ message: error?.message, cause: String(error?.cause), input: (error?.cause as { input?: string })?.input })).not.toMatch(
      /p@ss|ss word/,
    );
    expect(() => createBroker('ftp://u:p@ss@h')).toThrow(/ftp:\/\/u:\*\*\*@h/);
  });
});
