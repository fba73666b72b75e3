/**
 * TLS to every broker and backend, against a private Redis (plain 6398, TLS 6498) and a private
 * RabbitMQ (AMQP 5698, AMQPS 5699) that both require a client certificate, with certificates
 * made for the run: settings from the URL query, from options and from the environment, the
 * failures (wrong CA, no client certificate, a TLS client on a plain port: a clear error, never
 * a plaintext connection), and Python Celery (5.2, and the peers of test/support/peers.ts) on
 * the same endpoints, both ways.
 */
import { Celery, Worker, connectionOptionsFromEnv, type AsyncResult } from 'nestjs-celery';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { describeWithPrivateBrokers, startPrivateRabbitMq, startPrivateRedis, type PrivateRabbitMq, type PrivateRedis } from '../support/private-broker.js';
import { celeryPeers, pythonClient, startPythonWorker, type PythonEnv } from '../support/python.js';
import { uniqueName } from '../support/services.js';
import { generateTestCertificates, type TestCertificates } from '../support/tls-certs.js';

const REDIS_PORT = 6398;
const REDIS_TLS_PORT = 6498;
const AMQP_PORT = 5698;
const AMQPS_PORT = 5699;
const TIMEOUT = 120_000;

const describeTls = describeWithPrivateBrokers('TLS brokers and backends', 'redis', 'rabbitmq');

const peers = celeryPeers();

describeTls('TLS: amqps and rediss with options from the URL, options and env', () => {
  let certs: TestCertificates;
  let redis: PrivateRedis | undefined;
  let rabbit: PrivateRabbitMq | undefined;
  const apps: Celery[] = [];
  const workers: Worker[] = [];

  /** kombu's URL query form of the client side of mutual TLS */
  const query = (ca = certs.ca) =>
    `ssl_cert_reqs=required&ssl_ca_certs=${encodeURIComponent(ca)}&ssl_certfile=${encodeURIComponent(certs.clientCert)}&ssl_keyfile=${encodeURIComponent(certs.clientKey)}`;
  const rediss = (db: number, ca?: string) => `rediss://127.0.0.1:${REDIS_TLS_PORT}/${db}?${query(ca)}`;
  const amqps = (ca?: string) => `amqps://guest:guest@localhost:${AMQPS_PORT}//?${query(ca)}`;

  beforeAll(async () => {
    certs = generateTestCertificates();
    redis = await startPrivateRedis({
      port: REDIS_PORT,
      args: [
        '--tls-port',
        String(REDIS_TLS_PORT),
        '--tls-cert-file',
        certs.serverCert,
        '--tls-key-file',
        certs.serverKey,
        '--tls-ca-cert-file',
        certs.ca,
        '--tls-auth-clients',
        'yes',
      ],
    });
    rabbit = await startPrivateRabbitMq({
      port: AMQP_PORT,
      nodeName: `tls${AMQP_PORT}@localhost`,
      conf: [
        `listeners.ssl.default = 127.0.0.1:${AMQPS_PORT}`,
        `ssl_options.cacertfile = ${certs.ca}`,
        `ssl_options.certfile = ${certs.serverCert}`,
        `ssl_options.keyfile = ${certs.serverKey}`,
        'ssl_options.verify = verify_peer',
        'ssl_options.fail_if_no_peer_cert = true',
      ],
    });
  }, 240_000);

  afterAll(async () => {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await Promise.allSettled(apps.map((a) => a.close()));
    await redis?.stop();
    await rabbit?.stop();
    certs?.remove();
  }, TIMEOUT);

  const app = (options: ConstructorParameters<typeof Celery>[0]) => {
    const a = new Celery({ logger: silentLogger, ...options });
    apps.push(a);
    return a;
  };

  /** A worker and a client on `options`: one task there and back. */
  async function roundTrip(options: ConstructorParameters<typeof Celery>[0]): Promise<unknown> {
    const queue = uniqueName('tls');
    const served = app(options);
    const worker = new Worker(served, { queues: [queue], concurrency: 1, logger: silentLogger });
    workers.push(worker);
    worker.register('tls.add', ([x, y]) => (x as number) + (y as number));
    await worker.start();
    const client = app(options);
    const result: AsyncResult<number> = await client.sendTask('tls.add', [20, 22], {}, { queue });
    return result.get({ timeout: 60_000 });
  }

  describe('our client and worker over TLS', () => {
    test(
      'rediss broker and backend, settings in the URL query (kombu form)',
      async () => {
        await expect(roundTrip({ broker: rediss(1), backend: rediss(1) })).resolves.toBe(42);
      },
      TIMEOUT,
    );

    test(
      'amqps broker with the RPC backend, settings in the URL query',
      async () => {
        await expect(roundTrip({ broker: amqps(), backend: 'rpc://' })).resolves.toBe(42);
      },
      TIMEOUT,
    );

    test(
      'broker_use_ssl / redis_backend_use_ssl as options: amqp:// and redis:// URLs become TLS',
      async () => {
        const ssl = { caCerts: certs.ca, certfile: certs.clientCert, keyfile: certs.clientKey, certReqs: 'required' as const };
        await expect(
          roundTrip({
            broker: `amqp://guest:guest@localhost:${AMQPS_PORT}//`,
            brokerUseSsl: ssl,
            backend: `redis://127.0.0.1:${REDIS_TLS_PORT}/2`,
            redisBackendUseSsl: ssl,
          }),
        ).resolves.toBe(42);
      },
      TIMEOUT,
    );

    test(
      'from the environment, in Celery and py-amqp spellings',
      async () => {
        const tls = JSON.stringify({ ca_certs: certs.ca, certfile: certs.clientCert, keyfile: certs.clientKey, cert_reqs: 'CERT_REQUIRED' });
        const fromEnv = connectionOptionsFromEnv({
          CELERY_BROKER_URL: `redis://127.0.0.1:${REDIS_TLS_PORT}/3`,
          CELERY_BROKER_USE_SSL: JSON.stringify({ ssl_ca_certs: certs.ca, ssl_certfile: certs.clientCert, ssl_keyfile: certs.clientKey }),
          CELERY_BROKER_TRANSPORT_OPTIONS: '{"visibility_timeout": 7200}',
          CELERY_RESULT_BACKEND: `redis://127.0.0.1:${REDIS_TLS_PORT}/3`,
          CELERY_REDIS_BACKEND_USE_SSL: tls,
        });
        await expect(roundTrip(fromEnv)).resolves.toBe(42);
      },
      TIMEOUT,
    );
  });

  describe('failures are clear errors, never plaintext', () => {
    // no startup retry: a TLS handshake against a plaintext Redis hangs until the connection timeout, which
    // broker_connection_retry_on_startup retries with backoff (CI saw it past 120 s); the first refusal is the point
    const refused = async (options: ConstructorParameters<typeof Celery>[0]): Promise<Error> => {
      const a = app({ brokerConnectionRetryOnStartup: false, ...options });
      const error = await a.connect().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(Error);
      return error!;
    };

    test(
      'the wrong CA: the server certificate is refused (RabbitMQ and Redis)',
      async () => {
        const amqp = await refused({ broker: amqps(certs.wrongCa) });
        expect(amqp.message).toMatch(/certificate/i);
        expect(amqp.message).toMatch(/TLS: check that ssl_ca_certs/);
        const redisError = await refused({ broker: rediss(4, certs.wrongCa) });
        expect(redisError.message).toMatch(/certificate/i);
        expect(redisError.message).toMatch(/TLS: check that ssl_ca_certs/);
        const backendError = await refused({ broker: 'memory://', backend: rediss(4, certs.wrongCa) });
        expect(backendError.message).toMatch(/certificate/i);
      },
      TIMEOUT,
    );

    test(
      'no client certificate where the server requires one',
      async () => {
        const ca = encodeURIComponent(certs.ca);
        await refused({ broker: `amqps://guest:guest@localhost:${AMQPS_PORT}//?ssl_ca_certs=${ca}` });
        await refused({ broker: `rediss://127.0.0.1:${REDIS_TLS_PORT}/4?ssl_ca_certs=${ca}` });
      },
      TIMEOUT,
    );

    test(
      'TLS settings against a plaintext port fail instead of falling back to plaintext',
      async () => {
        const amqp = await refused({ broker: `amqps://guest:guest@localhost:${AMQP_PORT}//?${query()}` });
        expect(amqp.message).toMatch(/amqps:\/\/guest:\*+@localhost:5698/);
        await refused({ broker: `redis://127.0.0.1:${REDIS_PORT}/4?${query()}` });
      },
      TIMEOUT,
    );

    // the transport's module loads, and its settings are read, when the app connects (createBroker is lazy)
    test('an unknown ssl_ key or an unreadable file is refused when the app connects', async () => {
      await expect(app({ broker: `rediss://127.0.0.1:${REDIS_TLS_PORT}/0?ssl_ca_cert=${encodeURIComponent(certs.ca)}` }).connect()).rejects.toThrow(
        /unknown TLS option "ssl_ca_cert"/,
      );
      await expect(app({ broker: `amqps://localhost:${AMQPS_PORT}//`, brokerUseSsl: { caCerts: '/nonexistent/ca.pem' } }).connect()).rejects.toThrow(
        /cannot read the ssl_ca_certs file "\/nonexistent\/ca.pem"/,
      );
      await expect(app({ broker: 'memory://', backend: `rediss://127.0.0.1:${REDIS_TLS_PORT}/0?ssl_cert_reqs=sometimes` }).connect()).rejects.toThrow(
        /not a verify mode/,
      );
    });
  });

  describe.each(peers)('Python Celery $version on the same TLS endpoints', ({ peer }) => {
    const pyAmqpSsl = () => ({ ca_certs: certs.ca, certfile: certs.clientCert, keyfile: certs.clientKey, cert_reqs: 'required' });

    test(
      'our client → Python worker (amqps broker, rediss backend)',
      async () => {
        const queue = uniqueName('tls-py');
        const env: PythonEnv = { broker: `amqps://guest:guest@localhost:${AMQPS_PORT}//`, backend: rediss(5), queue, brokerUseSsl: pyAmqpSsl(), peer };
        const py = await startPythonWorker(env);
        try {
          const client = app({ broker: amqps(), backend: rediss(5) });
          const result = await client.sendTask<number>('py.add', [40, 2], {}, { queue });
          await expect(result.get({ timeout: 60_000 })).resolves.toBe(42);
        } finally {
          await py.stop();
        }
      },
      TIMEOUT,
    );

    test(
      'Python client → our worker (amqps broker, rediss backend)',
      async () => {
        const queue = uniqueName('tls-py');
        const served = app({ broker: amqps(), backend: rediss(6) });
        const worker = new Worker(served, { queues: [queue], concurrency: 1, logger: silentLogger });
        workers.push(worker);
        worker.register('node.add', ([x, y]) => (x as number) + (y as number));
        await worker.start();
        const env: PythonEnv = { broker: `amqps://guest:guest@localhost:${AMQPS_PORT}//`, backend: rediss(6), queue, brokerUseSsl: pyAmqpSsl(), peer };
        const [outcome] = await pythonClient(env, [{ task: 'node.add', args: [1, 2] }]);
        expect(outcome).toMatchObject({ state: 'SUCCESS', result: 3 });
      },
      TIMEOUT,
    );

    test(
      'both ways over a rediss broker, kombu reading the same URL query form',
      async () => {
        const queue = uniqueName('tls-py');
        const served = app({ broker: rediss(7), backend: rediss(7) });
        const worker = new Worker(served, { queues: [queue], concurrency: 1, logger: silentLogger });
        workers.push(worker);
        worker.register('node.add', ([x, y]) => (x as number) + (y as number));
        await worker.start();
        const env: PythonEnv = { broker: rediss(7), backend: rediss(7), queue, peer };
        const [outcome] = await pythonClient(env, [{ task: 'node.add', args: [5, 6] }]);
        expect(outcome).toMatchObject({ state: 'SUCCESS', result: 11 });
        await worker.stop();

        const py = await startPythonWorker(env);
        try {
          const result = await served.sendTask<number>('py.add', [7, 8], {}, { queue });
          await expect(result.get({ timeout: 60_000 })).resolves.toBe(15);
        } finally {
          await py.stop();
        }
      },
      TIMEOUT,
    );
  });
});
