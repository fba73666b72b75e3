/**
 * Our worker continues canvas exactly as a Python worker does. The same canvas goes to a Python
 * worker and to ours; the first step runs there, and everything the worker sends next (chain
 * step, link callbacks, errbacks, chord body, chord header) lands in a capture queue nobody
 * consumes. The captured messages and the stored results (children, parent_id, propagated
 * FAILUREs, ChordError) are compared after replacing ids by their order of appearance.
 * Redis broker and backend: the captured messages are read from the Redis lists.
 */
import { Redis } from 'ioredis';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { ValueError } from '../../libs/nestjs-celery/src/protocol/python-errors.js';
import { deleteRedisQueues } from '../support/cleanup.js';
import { startPythonWorker, type PythonWorker } from '../support/python.js';
import { REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';
import { build, s, withOptions, type Description } from './support/canvas-description.js';
import { idNormalizer, normalizeMessages } from './support/normalize.js';

const describeWorkerWire = await describeIfAvailable('canvas continuation vs a Python worker', 'redis', 'python-celery');

type Side = 'py' | 'ts';
interface Scenario {
  /** the canvas: `run` places a task on the worker under test, `capture` in the capture queue */
  canvas(run: (d: Description) => Description, capture: (d: Description) => Description): Description;
  /** messages the worker sends to the capture queue */
  messages: number;
  /** stored results to compare, picked from the ids of the applied canvas (first step first) */
  metas?: (ids: string[]) => string[];
}

const SCENARIOS: Record<string, Scenario> = {
  'next chain step: the result prepended, the rest of the chain passed on': {
    canvas: (run, cap) => ({ chain: [run(s('py.add', 2, 2)), cap(s('py.add', 4)), cap(s('py.add', 8))] }),
    messages: 1,
    metas: (ids) => [ids[0]],
  },
  'last chain step: an empty chain list': {
    canvas: (run, cap) => ({ chain: [run(s('py.add', 2, 2)), cap(s('py.add', 4))] }),
    messages: 1,
    metas: (ids) => [ids[0]],
  },
  'one link callback': {
    canvas: (run, cap) => run(withOptions(s('py.add', 1, 1), { link: cap(s('py.add', 10)) })),
    messages: 1,
    metas: (ids) => [ids[0]],
  },
  'two link callbacks: sent as a group': {
    canvas: (run, cap) => run(withOptions(s('py.add', 1, 1), { link: [cap(s('py.add', 10)), cap(s('py.add', 20))] })),
    messages: 2,
    metas: (ids) => [ids[0]],
  },
  'errback: the failed task id first, as a group': {
    canvas: (run, cap) => run(withOptions(s('py.fail', 'x'), { link_error: cap(s('py.errback')) })),
    messages: 1,
  },
  'failure in a chain: the remaining steps FAILURE, then errbacks': {
    canvas: (run, cap) => ({ chain: [run(s('py.fail', 'x')), cap(s('py.add', 1)), cap(s('py.add', 2))], options: { link_error: cap(s('py.errback')) } }),
    messages: 1,
    metas: (ids) => ids.slice(1),
  },
  'chord body: sent by the worker that completes the header': {
    canvas: (run, cap) => ({ chord: [run(s('py.add', 1, 1))], body: cap(s('py.tsum')) }),
    messages: 1,
  },
  'chord header failure: body errback, body FAILURE ChordError': {
    canvas: (run, cap) => ({ chord: [run(s('py.fail', 'x'))], body: cap(withOptions(s('py.tsum'), { link_error: cap(s('py.errback')) })) }),
    messages: 1,
    metas: (ids) => [ids[ids.length - 1]],
  },
  'group at the end of a chain': {
    canvas: (run, cap) => ({ chain: [run(s('py.add', 1, 1)), { group: [cap(s('py.add', 1)), cap(s('py.add', 2))] }] }),
    messages: 2,
    metas: (ids) => [ids[0]],
  },
  'group then task in a chain: the worker applies the chord': {
    canvas: (run, cap) => ({ chain: [run(s('py.add', 1, 1)), { group: [cap(s('py.add', 1)), cap(s('py.add', 2))] }, cap(s('py.tsum'))] }),
    messages: 2,
    metas: (ids) => [ids[0]],
  },
};

describeWorkerWire('canvas continuation: our worker sends what a Python worker sends', () => {
  const queues = {
    py: { run: uniqueName('canvas.ww.run-py'), capture: uniqueName('canvas.ww.cap-py') },
    ts: { run: uniqueName('canvas.ww.run-ts'), capture: uniqueName('canvas.ww.cap-ts') },
  };
  let redis: Redis;
  let client: Celery;
  let workerApp: Celery;
  let worker: Worker;
  let py: PythonWorker;
  const applied: Record<string, Record<Side, string[]>> = {};

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    workerApp = new Celery({ broker: REDIS_URL, backend: REDIS_URL, taskDefaultQueue: queues.ts.run, resultExpires: 3600, logger: silentLogger });
    // one at a time, like the solo Python worker, so both send in the same order
    worker = new Worker(workerApp, { queues: [queues.ts.run], concurrency: 1, logger: silentLogger });
    worker.register('py.add', ([x, y]) => (x as number) + (y as number));
    worker.register('py.tsum', ([values]) => (values as number[]).reduce((a, b) => a + b, 0));
    worker.register('py.fail', ([message]) => {
      throw new ValueError(message);
    });
    await worker.start();
    py = await startPythonWorker({ broker: REDIS_URL, backend: REDIS_URL, queue: queues.py.run }, ['--include', 'canvas_tasks']);
    client = new Celery({ broker: REDIS_URL, backend: REDIS_URL, resultExpires: 3600, logger: silentLogger });
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      applied[name] = { py: [], ts: [] };
      for (const side of ['py', 'ts'] as const) {
        const run = (d: Description) => withOptions(d, { queue: queues[side].run });
        const capture = (d: Description) => withOptions(d, { queue: queues[side].capture });
        const canvas = build(scenario.canvas(run, capture));
        const result = await canvas.applyAsync(client);
        // every id of the canvas, first step first (chains: follow the parents back)
        const ids: string[] = [];
        for (let r: { id: string; parent: unknown } | null = result; r; r = r.parent as typeof r) ids.unshift(r.id);
        applied[name][side] = ids;
        // one scenario at a time: its captured messages must not mix with the next one's
        await waitForLength(queues[side].capture, scenario.messages);
        await redis.rename(queues[side].capture, `${queues[side].capture}.${Object.keys(applied).length}`);
      }
    }
  }, 60_000);

  afterAll(async () => {
    await py?.stop();
    await worker?.stop();
    await workerApp?.close();
    await client?.close();
    const captured = Object.keys(SCENARIOS).flatMap((_, i) => [`${queues.py.capture}.${i + 1}`, `${queues.ts.capture}.${i + 1}`]);
    await deleteRedisQueues([queues.py.run, queues.ts.run, queues.py.capture, queues.ts.capture, ...captured]);
    redis?.disconnect();
  });

  async function waitForLength(key: string, n: number): Promise<void> {
    const end = Date.now() + 15_000;
    while ((await redis.llen(key)) < n) {
      if (Date.now() > end) throw new Error(`${key} got ${await redis.llen(key)} of ${n} messages`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** A stored result, once there, with what differs between two workers blanked. */
  async function meta(id: string): Promise<Record<string, unknown>> {
    const end = Date.now() + 15_000;
    for (;;) {
      const raw = await redis.get(`celery-task-meta-${id}`);
      if (raw) {
        const doc = JSON.parse(raw) as Record<string, unknown>;
        return { ...doc, traceback: doc.traceback === null ? null : '<traceback>', date_done: doc.date_done === null ? null : '<date>' };
      }
      if (Date.now() > end) throw new Error(`no result stored for ${id}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test.each(Object.keys(SCENARIOS).map((name, i) => [name, i + 1] as const))('%s', async (name, n) => {
    const scenario = SCENARIOS[name];
    const seen = async (side: Side) => {
      const walk = idNormalizer({ [queues[side].run]: '<run>', [queues[side].capture]: '<capture>' });
      // the ids of the canvas first, so both sides number them alike
      walk(applied[name][side]);
      const messages = normalizeMessages((await redis.lrange(`${queues[side].capture}.${n}`, 0, -1)).reverse(), {}, walk);
      const metas = await Promise.all((scenario.metas?.(applied[name][side]) ?? []).map(async (id) => walk(await meta(id))));
      return { messages, metas };
    };
    const python = await seen('py');
    const ours = await seen('ts');
    expect(python.messages).toHaveLength(scenario.messages);
    expect(ours).toEqual(python);
  });
});
