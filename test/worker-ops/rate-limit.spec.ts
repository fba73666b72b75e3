/**
 * Rate limits on real brokers: a '10/s' task type is held to its rate while other tasks run, and
 * Python Celery 5.2, 5.5 and 5.6's `app.control.rate_limit` changes it on our worker with the
 * replies a Python worker gives. CI time: ~4 s per broker for the window, ~15 s per Celery peer.
 */
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { controlPeer, removeRedisReplyQueue } from '../control/support/python-peer.js';
import { deleteQueues } from '../support/cleanup.js';
import { eventually } from '../support/eventually.js';
import { peerSuites, startPythonWorker, type PythonEnv, type PythonWorker } from '../support/python.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

/** Start times (ms) of each task type's runs. */
type Starts = Map<string, number[]>;

function startWorker(app: Celery, queue: string, starts: Starts, hostname?: string, rateLimit: string | null = '10/s'): Worker {
  const worker = new Worker(app, { hostname, queues: [queue], concurrency: 16, logger: silentLogger });
  const record = (name: string) => () => void (starts.get(name) ?? starts.set(name, []).get(name)!).push(Date.now());
  worker.register('rl.limited', record('rl.limited'), { rateLimit });
  worker.register('rl.free', record('rl.free'));
  // the name of a task the Python worker has too, for comparing replies
  worker.register('py.add', ([x, y]) => (x as number) + (y as number));
  return worker;
}

const span = (times: number[]) => Math.max(...times) - Math.min(...times);

const BROKERS = [
  ['rabbitmq', AMQP_URL],
  ['redis', REDIS_URL],
] as const;

for (const [name, url] of BROKERS) {
  const describeBroker = await describeIfAvailable(`rate limits over ${name}`, name);
  describeBroker(`rate limits over ${name}`, () => {
    const queue = uniqueName('ratelimit');
    const starts: Starts = new Map();
    let app: Celery;
    let worker: Worker;

    beforeAll(async () => {
      app = new Celery({ broker: url, backend: REDIS_URL, logger: silentLogger });
      worker = startWorker(app, queue, starts);
      await worker.start();
    });

    afterAll(async () => {
      await worker?.stop();
      await app?.close();
      await deleteQueues(url, [queue]);
    });

    test("'10/s': 30 tasks take ≥ 2.5 s on one worker while 30 other tasks sent between them all run meanwhile", async () => {
      const sent: Promise<unknown>[] = [];
      for (let i = 0; i < 30; i++) {
        sent.push(app.sendTask('rl.limited', [], {}, { queue }), app.sendTask('rl.free', [], {}, { queue }));
      }
      const results = await Promise.all(sent);
      await Promise.all(results.map((r) => (r as { get(o: object): Promise<unknown> }).get({ timeout: 60_000 })));
      const limited = starts.get('rl.limited')!;
      const free = starts.get('rl.free')!;
      expect(limited).toHaveLength(30);
      expect(free).toHaveLength(30);
      // 29 intervals of 100 ms: 2.9 s when enforced, well under a second when not
      expect(span(limited)).toBeGreaterThanOrEqual(2_500);
      // the other tasks did not queue up behind the held ones
      expect(Math.max(...free)).toBeLessThan(Math.max(...limited));
      expect(worker.rateLimits.held).toBe(0);
    }, 90_000);
  });
}

const PEERS = await peerSuites('rate_limit from Python Celery', 'redis');

for (const { version, peer, describe: describePeer } of PEERS)
  describePeer(`app.control.rate_limit from Python Celery ${version} (Redis)`, () => {
    const nodename = `${uniqueName('nest')}@ratelimit-test`;
    const queue = uniqueName('ratelimit.node');
    const pyQueue = uniqueName('ratelimit.py');
    const env: PythonEnv = { broker: REDIS_URL, backend: REDIS_URL, queue, peer, env: { INTEROP_EXCLUSIVE_QUEUES: '0' } };
    const starts: Starts = new Map();
    let app: Celery;
    let worker: Worker;
    let pyWorker: PythonWorker;

    /** app.control.rate_limit from Python to both workers, once per call, in one Python process: each node's reply per call. */
    const rateLimit = async (...calls: [task: string, rate: string | null][]) => {
      const destination = [nodename, pyWorker.nodename];
      const request = { op: 'rate_limit', calls: calls.map(([task_name, rate_limit]) => ({ task_name, rate_limit })), destination, timeout: 5 };
      const replies = await controlPeer<Record<string, unknown>[][]>(env, request).result;
      return replies.map((perNode) => {
        expect(perNode).toHaveLength(2);
        const byNode = Object.assign({}, ...perNode) as Record<string, unknown>;
        return { ours: byNode[nodename], py: byNode[pyWorker.nodename] };
      });
    };

    beforeAll(async () => {
      app = new Celery({ broker: REDIS_URL, backend: REDIS_URL, logger: silentLogger, controlQueueExclusive: false });
      worker = startWorker(app, queue, starts, nodename, null);
      [pyWorker] = await Promise.all([startPythonWorker({ ...env, queue: pyQueue }), worker.start()]);
    }, 90_000);

    afterAll(async () => {
      await pyWorker?.stop();
      await worker?.stop();
      await app?.close();
      await deleteQueues(REDIS_URL, [queue, pyQueue]);
      if (app) await removeRedisReplyQueue(app.control.mailbox.oid);
    }, 60_000);

    test('set, bad rate, unknown task and disable: our replies are the Python worker’s', async () => {
      const expected = [
        { ok: 'new rate limit set successfully' },
        { error: `Invalid rate limit string: ValueError("could not convert string to float: 'ten'")` },
        { error: "KeyError('d')" },
        { error: 'unknown task' },
        { ok: 'rate limit disabled successfully' },
      ];
      // py.add: a task both workers have
      const replies = await rateLimit(['py.add', '5/m'], ['py.add', 'ten/s'], ['py.add', '5/d'], ['no.such', '1/s'], ['py.add', null]);
      expect(replies.map((r) => r.py)).toEqual(expected);
      expect(replies.map((r) => r.ours)).toEqual(expected);
    }, 120_000);

    test("'5/s' set from Python holds our worker to it, and inspect registered / conf report it", async () => {
      expect((await rateLimit(['rl.limited', '5/s']))[0].ours).toEqual({ ok: 'new rate limit set successfully' });
      starts.delete('rl.limited');
      const results = await Promise.all(Array.from({ length: 6 }, () => app.sendTask('rl.limited', [], {}, { queue })));
      await Promise.all(results.map((r) => r.get({ timeout: 60_000 })));
      // 5 intervals of 200 ms
      expect(span(starts.get('rl.limited')!)).toBeGreaterThanOrEqual(900);
      const seen = await controlPeer<Record<string, Record<string, unknown>>>(env, { op: 'inspect', commands: ['registered', 'conf'], destination: [nodename] })
        .result;
      expect(seen.registered[nodename]).toContain('rl.limited [rate_limit=5/s]');
      // at Celery's defaults, `conf` (without with_defaults) lists neither setting, as a Python worker's does
      expect(seen.conf[nodename]).not.toHaveProperty('task_default_rate_limit');
      expect(seen.conf[nodename]).not.toHaveProperty('worker_disable_rate_limits');
      await rateLimit(['rl.limited', null]);
      await eventually(() => worker.rateLimits.rateLimitOf('rl.limited', '10/s') === null, 'the rate limit removed');
    }, 120_000);
  });
