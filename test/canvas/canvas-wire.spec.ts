/**
 * Our canvas builders send what Python Celery 5.2 sends, message for message: Python publishes
 * each canvas with no worker running, our client publishes the same canvas (same JSON
 * description), and the Redis lists are compared after replacing ids by their order of
 * appearance. Also the chord size key `.s`, and chord_unlock for non-native backends.
 */
import { Redis } from 'ioredis';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import { MemoryBackend } from '../../libs/nestjs-celery/src/transport/memory/memory.backend.js';
import { deleteRedisQueues } from '../support/cleanup.js';
import { runPython } from '../support/python.js';
import { REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';
import { build, s, si, withOptions, type Description } from './support/canvas-description.js';
import { normalizeMessages } from './support/normalize.js';

const describeWire = await describeIfAvailable('canvas wire shapes vs Python Celery', 'redis', 'python-celery');

interface Scenario {
  canvas: Description;
  args?: unknown[];
  /** 'unlock': a backend without native chords (Python: Celery's fallback path; ours: memory) */
  backend?: 'redis' | 'unlock';
}

const SCENARIOS: Record<string, Scenario> = {
  'signature with options': { canvas: withOptions(s('t.add', 2, 2), { time_limit: 30, soft_time_limit: 20, shadow: 'shown', countdown: 5 }) },
  'immutable signature': { canvas: si('t.add', 1, 2) },
  'chain (reversed embed.chain, frozen ids and reply_to)': { canvas: { chain: [s('t.add', 2, 2), s('t.add', 4), si('t.mul', 3, 3)] } },
  'chain with partial args': { canvas: { chain: [s('t.add', 2), s('t.add', 4)] }, args: [1] },
  'chain with an errback on every step': { canvas: { chain: [s('t.add', 2, 2), s('t.add', 4)], options: { link_error: s('t.err') } } },
  'chain with per-step queues': { canvas: { chain: [s('t.add', 1, 1), withOptions(s('t.add', 2), { queue: 'elsewhere' })] } },
  group: { canvas: { group: [s('t.add', 1, 1), s('t.add', 2, 2), s('t.add', 3, 3)] } },
  'group of a chain and a task': { canvas: { group: [{ chain: [s('t.add', 1, 1), s('t.add', 1)] }, s('t.add', 2, 2)] } },
  chord: { canvas: { chord: [s('t.add', 1, 1), s('t.add', 2, 2)], body: s('t.tsum') } },
  'chord with a chain body': { canvas: { chord: [s('t.add', 1, 1), s('t.add', 2, 2)], body: { chain: [s('t.tsum'), s('t.add', 1)] } } },
  'chord with a chain in the header': { canvas: { chord: [{ chain: [s('t.add', 1, 1), s('t.add', 1)] }, s('t.add', 2, 2)], body: s('t.tsum') } },
  'chord body with an errback': { canvas: { chord: [s('t.add', 1, 1)], body: withOptions(s('t.tsum'), { link_error: s('t.err') }) } },
  'chain with a group in the middle (a chord)': { canvas: { chain: [s('t.add', 1, 1), { group: [s('t.add', 1), s('t.add', 2)] }, s('t.tsum')] } },
  'chain ending with a group': { canvas: { chain: [s('t.add', 1, 1), { group: [s('t.add', 1), s('t.add', 2)] }] } },
  'empty chord header (body sent at once)': { canvas: { chord: [], body: s('t.tsum') } },
  map: { canvas: { map: s('t.double'), it: [1, 2, 3] } },
  starmap: {
    canvas: {
      starmap: s('t.add'),
      it: [
        [1, 2],
        [3, 4],
      ],
    },
  },
  chunks: {
    canvas: {
      chunks: s('t.add'),
      it: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      n: 2,
    },
  },
  'link and link_error': { canvas: withOptions(s('t.add', 1, 1), { link: [s('t.add', 10), s('t.add', 20)], link_error: s('t.err') }) },
  'chord on a backend without native chords (celery.chord_unlock first)': {
    canvas: { chord: [s('t.add', 1, 1), s('t.add', 2, 2)], body: s('t.tsum') },
    backend: 'unlock',
  },
};

/** The headers of a kombu envelope (JSON) as it sits in a Redis list. */
const headersOf = (raw: string) => (JSON.parse(raw) as { headers: Record<string, unknown> }).headers;

describeWire('canvas wire shapes vs Python Celery 5.2', () => {
  const prefix = uniqueName('canvas.wire');
  const names = Object.keys(SCENARIOS);
  const queue = (side: 'py' | 'ts', i: number) => `${prefix}.${side}.${i}`;
  const queues = names.flatMap((_, i) => [queue('py', i), queue('ts', i)]);
  let redis: Redis;
  const pyIds: (string | null)[] = [];
  const tsIds: string[] = [];

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    const scenarios = names.map((name, i) => ({ ...SCENARIOS[name], queue: queue('py', i) }));
    pyIds.push(
      ...(await runPython<(string | null)[]>(
        '../../canvas/python/canvas_capture.py',
        { broker: REDIS_URL, backend: REDIS_URL, queue: 'unused' },
        { redis: REDIS_URL, scenarios },
      )),
    );
    for (const [i, name] of names.entries()) {
      const { canvas, args, backend } = SCENARIOS[name];
      const app = new Celery({
        broker: REDIS_URL,
        backend: backend === 'unlock' ? new MemoryBackend(`memory://${prefix}`) : REDIS_URL,
        taskDefaultQueue: queue('ts', i),
        resultExpires: 3600,
        logger: silentLogger,
      });
      try {
        tsIds.push((await build(canvas).applyAsync(app, args ?? [])).id);
      } finally {
        await app.close();
      }
    }
  }, 60_000);

  afterAll(async () => {
    const keys = [...pyIds, ...tsIds].filter((id): id is string => !!id).flatMap((id) => [`celery-taskset-meta-${id}.s`]);
    if (keys.length) await redis.del(...keys);
    await deleteRedisQueues(queues);
    redis.disconnect();
  });

  /** Every message of a queue, oldest first (LPUSH puts the newest at the head). */
  async function messages(q: string): Promise<string[]> {
    return (await redis.lrange(q, 0, -1)).reverse();
  }

  test.each(names.map((name, i) => [name, i] as const))('%s', async (_name, i) => {
    const py = await messages(queue('py', i));
    const ts = await messages(queue('ts', i));
    expect(py.length).toBeGreaterThan(0);
    expect(normalizeMessages(ts, queue('ts', i))).toEqual(normalizeMessages(py, queue('py', i)));
  });

  test('chord: the size key .s is written (SETEX) before the header tasks, as Celery writes it', async () => {
    const i = names.indexOf('chord');
    const chordSizeKey = async (side: 'py' | 'ts') => {
      const [first] = await messages(queue(side, i));
      const group = headersOf(first).group as string;
      const key = `celery-taskset-meta-${group}.s`;
      return { value: await redis.get(key), ttl: await redis.ttl(key), type: await redis.type(key) };
    };
    const py = await chordSizeKey('py');
    const ts = await chordSizeKey('ts');
    expect(py).toMatchObject({ value: '2', type: 'string' });
    expect(ts).toMatchObject({ value: '2', type: 'string' });
    expect(ts.ttl).toBeGreaterThan(3500);
    expect(py.ttl).toBeGreaterThan(3500);
    // the unlock path writes no size key
    const u = names.indexOf('chord on a backend without native chords (celery.chord_unlock first)');
    const [unlock] = await messages(queue('ts', u));
    expect(headersOf(unlock).task).toBe('celery.chord_unlock');
    const [, firstHeader] = await messages(queue('ts', u));
    expect(await redis.exists(`celery-taskset-meta-${String(headersOf(firstHeader).group)}.s`)).toBe(0);
  });
});
