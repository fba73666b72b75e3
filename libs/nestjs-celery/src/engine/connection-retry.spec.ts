// Startup connection retry: kombu's intervals, Celery's line per attempt, giving up, no retry.
import { connectionRetryInterval, connectWithRetry } from './connection-retry.js';
import { BrokerConnectionError } from './errors.js';

function recorder() {
  const lines: { level: string; text: string }[] = [];
  const logger = {
    log: (text: string) => void lines.push({ level: 'log', text }),
    warn: (text: string) => void lines.push({ level: 'warn', text }),
    error: (text: string) => void lines.push({ level: 'error', text }),
  };
  return { lines, logger };
}

describe('connectWithRetry (broker_connection_retry_on_startup)', () => {
  test("kombu's ensure_connection intervals: 2 s, stepping 2 s, at most 30 s", () => {
    expect([1, 2, 3, 4, 14, 15, 16, 100].map(connectionRetryInterval)).toEqual([2, 4, 6, 8, 28, 30, 30, 30]);
  });

  test("a warning per failed attempt in Celery's wording, then the error past maxRetries", async () => {
    const { lines, logger } = recorder();
    let attempts = 0;
    const connect = async () => {
      attempts++;
      throw new Error('connect ECONNREFUSED 127.0.0.1:1');
    };
    const started = Date.now();
    const failed = await connectWithRetry(connect, { role: 'consumer', url: 'amqp://guest:**@127.0.0.1:1//', maxRetries: 1, logger }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(attempts).toBe(2);
    expect(failed).toBeInstanceOf(BrokerConnectionError);
    expect((failed as Error).cause).toEqual(new Error('connect ECONNREFUSED 127.0.0.1:1'));
    expect(lines).toEqual([
      {
        level: 'warn',
        text: 'consumer: Cannot connect to amqp://guest:**@127.0.0.1:1//: connect ECONNREFUSED 127.0.0.1:1. Trying again in 2.00 seconds... (1/1)',
      },
      {
        level: 'error',
        text: 'consumer: Cannot connect to amqp://guest:**@127.0.0.1:1//: connect ECONNREFUSED 127.0.0.1:1. Giving up after 1 retries (brokerConnectionMaxRetries)',
      },
    ]);
    expect((failed as Error).message).toBe(lines[1].text);
  }, 30_000);

  test('an attempt that hangs fails after the connection timeout', async () => {
    const { lines, logger } = recorder();
    const failed = await connectWithRetry(() => new Promise<void>(() => undefined), {
      role: 'producer',
      url: 'redis://h:6379/0',
      maxRetries: 1,
      timeoutSeconds: 0.2,
      logger,
    }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(BrokerConnectionError);
    expect(lines[0].text).toBe(
      'producer: Cannot connect to redis://h:6379/0: timed out after 0.2 s (brokerConnectionTimeout). Trying again in 2.00 seconds... (1/1)',
    );
  }, 30_000);

  test('retryOnStartup false: the first error as it is, nothing logged', async () => {
    const { lines, logger } = recorder();
    const error = new Error('refused');
    await expect(connectWithRetry(() => Promise.reject(error), { role: 'consumer', url: 'u', retryOnStartup: false, logger })).rejects.toBe(error);
    expect(lines).toEqual([]);
  });

  test('success after a failure says so', async () => {
    const { lines, logger } = recorder();
    let attempts = 0;
    const connect = async () => {
      if (attempts++ === 0) throw new Error('not yet');
    };
    await connectWithRetry(connect, { role: 'consumer', url: 'u', logger });
    expect(lines).toEqual([
      { level: 'warn', text: 'consumer: Cannot connect to u: not yet. Trying again in 2.00 seconds... (1/100)' },
      { level: 'log', text: 'consumer: Connected to u' },
    ]);
  }, 30_000);

  test('a refused login or a TLS verification failure is thrown at once: waiting cannot fix it', async () => {
    const { lines, logger } = recorder();
    for (const error of [
      new Error('Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused"'),
      new Error('WRONGPASS invalid username-password pair or user is disabled.'),
      Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
    ]) {
      await expect(connectWithRetry(() => Promise.reject(error), { role: 'consumer', url: 'u', logger })).rejects.toBe(error);
    }
    expect(lines).toEqual([]);
  });
});
