/**
 * Canvas end to end on the memory transport (no native chords there: chords are joined by
 * celery.chord_unlock, as on Celery's non-native backends). Wire shapes against real Python are
 * in test/canvas/.
 */
import { silentLogger, type CeleryLogger } from '../../common/logger.js';
import { CeleryTaskError } from '../../protocol/exceptions.js';
import { ValueError } from '../../protocol/python-errors.js';
import { MemoryBackend } from '../../transport/memory/memory.backend.js';
import { MemoryBroker } from '../../transport/memory/memory.broker.js';
import { AsyncResult } from '../async-result.js';
import { Celery } from '../celery.js';
import { Worker } from '../worker/worker.js';
import {
  ChordsNotSupportedError,
  GroupMemberError,
  GroupResult,
  chain,
  chord,
  chunks,
  group,
  s,
  si,
  signature,
  xmap,
  xstarmap,
  type SignatureOptions,
} from './index.js';
import { eventually } from '../../../../../test/support/eventually.js';

let seq = 0;
const T = { timeout: 5000 };

function setup(backend: 'memory' | 'rpc' = 'memory') {
  const name = `canvas-spec-${process.pid}-${++seq}`;
  const errors: string[] = [];
  const logger: CeleryLogger = { ...silentLogger, error: (m) => errors.push(m) };
  const broker = new MemoryBroker(`memory://${name}`);
  const app = new Celery({ broker, backend: backend === 'rpc' ? 'rpc://' : new MemoryBackend(`memory://${name}`), logger });
  const worker = new Worker(app, { logger, concurrency: 8 });
  const calls: { task: string; args: unknown[] }[] = [];
  worker.register('add', (args) => {
    calls.push({ task: 'add', args });
    return (args as number[]).reduce((a, b) => a + b, 0);
  });
  worker.register('mul', ([x, y]) => (x as number) * (y as number));
  worker.register('tsum', ([values]) => (values as number[]).reduce((a, b) => a + b, 0));
  worker.register('fail', ([message]) => {
    throw new ValueError(String((message as number | string | undefined) ?? 'boom'));
  });
  worker.register('record', (args) => {
    calls.push({ task: 'record', args });
    return args;
  });
  return { app, worker, errors, calls };
}

describe('canvas on the memory transport', () => {
  let env: ReturnType<typeof setup>;
  beforeEach(async () => {
    env = setup();
    await env.worker.start();
  });
  afterEach(async () => {
    await env.worker.stop();
    await env.app.close();
  });

  test('chain: each step gets the previous result first; si keeps its args; parents lead back', async () => {
    const result = await chain(s('add', 2, 2), s('add', 4), si('mul', 3, 3), s('add', 1)).applyAsync(env.app);
    await expect(result.get(T)).resolves.toBe(10);
    const parent = result.parent as AsyncResult;
    await expect(parent.get(T)).resolves.toBe(9);
    await expect((parent.parent as AsyncResult).get(T)).resolves.toBe(8);
    const first = (parent.parent as AsyncResult).parent as AsyncResult;
    await expect(first.get(T)).resolves.toBe(4);
    expect(first.parent).toBeNull();
    // the stored lineage: children tuples, parent_id
    const meta = await first.meta();
    expect(meta!.children).toEqual([[[(parent.parent as AsyncResult).id, null], null]]);
    expect((await parent.meta())!.parent_id).toBe((parent.parent as AsyncResult).id);
  });

  test('chain partial args go to the first step only', async () => {
    const result = await chain(s('add', 2), s('add', 4)).applyAsync(env.app, [1]);
    await expect(result.get(T)).resolves.toBe(7);
  });

  test('group: results in member order as a Promise and an Observable', async () => {
    const result = await group(s('add', 1, 1), s('mul', 3, 3), s('add', 10, 20)).applyAsync(env.app);
    expect(result).toBeInstanceOf(GroupResult);
    await expect(result.get(T)).resolves.toEqual([2, 9, 30]);
    const { firstValueFrom } = await import('rxjs');
    await expect(firstValueFrom(result.results$)).resolves.toEqual([2, 9, 30]);
    await expect(result.successful()).resolves.toBe(true);
  });

  test("group: a member's failure names the member", async () => {
    const result = await group(s('add', 1, 1), s('fail', 'second'), s('add', 2, 2)).applyAsync(env.app);
    const error = (await result.get(T).catch((e: unknown) => e)) as GroupMemberError;
    expect(error).toBeInstanceOf(GroupMemberError);
    expect(error).toBeInstanceOf(CeleryTaskError);
    expect(error).toMatchObject({ index: 1, groupId: result.id, taskId: result.results[1].id, excType: 'ValueError', excMessage: ['second'] });
    await expect(result.failed()).resolves.toBe(true);
  });

  test('chord (joined by celery.chord_unlock here): the body gets the header results in order', async () => {
    const result = await chord([s('add', 1, 1), s('add', 2, 2), s('mul', 3, 3)], s('tsum')).applyAsync(env.app);
    await expect(result.get(T)).resolves.toBe(15);
    expect(result.parent).toBeInstanceOf(GroupResult);
    await expect((result.parent as GroupResult).get(T)).resolves.toEqual([2, 4, 9]);
  });

  test('celery.chord_unlock runs again (same id, retries + 1) until the header is ready', async () => {
    // the header's member finishes only once the unlock has polled three times: no race with the clock
    let polledThrice: () => void = () => undefined;
    const thirdPoll = new Promise<void>((resolve) => (polledThrice = resolve));
    env.worker.register('held', async ([value]) => {
      await thirdPoll;
      return value;
    });
    const unlock = env.worker.registry.get('celery.chord_unlock')!;
    const runs: number[] = [];
    const ids = new Set<string>();
    const original = unlock.handler;
    unlock.handler = (args, kwargs, context) => {
      runs.push(context.retries);
      ids.add(context.id);
      if (runs.length === 3) polledThrice();
      return original(args, kwargs, context);
    };
    // Celery's chord options: the first poll after `countdown`, then every `interval` seconds
    const options = { countdown: 0.05, interval: 0.05 } as SignatureOptions;
    const result = await chord([s('held', 300), s('add', 1)], s('tsum')).applyAsync(env.app, [], {}, options);
    await expect(result.get({ timeout: 30_000 })).resolves.toBe(301);
    expect(runs.length).toBeGreaterThan(3);
    expect(runs).toEqual(runs.map((_, i) => i));
    expect(ids.size).toBe(1);
  });

  test('chord header failure: the body fails with ChordError naming the member; its errback gets the body id', async () => {
    const body = s('tsum').onError(s('record', 'errback'));
    const result = await chord([s('add', 1, 1), s('fail', 'in header')], body).applyAsync(env.app);
    const error = (await result.get(T).catch((e: unknown) => e)) as CeleryTaskError;
    const failedId = (result.parent as GroupResult).results[1].id;
    expect(error).toMatchObject({
      excType: 'ChordError',
      excModule: 'celery.exceptions',
      excMessage: [`Dependency ${failedId} raised ValueError('in header')`],
    });
    await waitFor(() => env.calls.some((c) => c.task === 'record' && c.args[0] === result.id));
  });

  test('link and link_error', async () => {
    const ok = await signature('add', [1, 1], {}, { link: s('record', 'linked') }).applyAsync(env.app);
    await ok.get(T);
    await waitFor(() => env.calls.some((c) => c.task === 'record' && c.args[0] === 2 && c.args[1] === 'linked'));
    const meta = await ok.meta();
    expect(meta!.children).toHaveLength(1);
    const bad = await signature('fail', ['x'], {}, { linkError: si('record', 'eb') }).applyAsync(env.app);
    await bad.get(T).catch(() => undefined);
    // an immutable errback keeps its args; a mutable one gets the failed id first
    await waitFor(() => env.calls.some((c) => c.task === 'record' && c.args[0] === 'eb'));
    const bad2 = await signature('fail', ['y'], {}, { linkError: s('record', 'eb2') }).applyAsync(env.app);
    await bad2.get(T).catch(() => undefined);
    await waitFor(() => env.calls.some((c) => c.task === 'record' && c.args[0] === bad2.id && c.args[1] === 'eb2'));
  });

  test('a failure in the middle of a chain marks the remaining steps FAILURE', async () => {
    const result = await chain(s('add', 1, 1), s('fail'), s('add', 1), s('add', 2)).applyAsync(env.app);
    const error = (await result.get(T).catch((e: unknown) => e)) as CeleryTaskError;
    expect(error).toMatchObject({ excType: 'ValueError', excMessage: ['2'] });
    // Celery stores them from the end of the chain: the step before the last comes right after
    const third = result.parent as AsyncResult;
    await expect(third.get(T)).rejects.toMatchObject({ excType: 'ValueError', excMessage: ['2'] });
    expect(env.calls.filter((c) => c.task === 'add')).toHaveLength(1);
  });

  test('chain with a group in the middle (a chord) and one ending with a group', async () => {
    const viaChord = await chain(s('add', 1, 1), group(s('add', 1), s('add', 2)), s('tsum')).applyAsync(env.app);
    await expect(viaChord.get(T)).resolves.toBe(7); // [3, 4]
    const endsInGroup = await chain(s('add', 1, 1), group(s('add', 10), s('add', 20))).applyAsync(env.app);
    expect(endsInGroup).toBeInstanceOf(GroupResult);
    await expect(endsInGroup.get(T)).resolves.toEqual([12, 22]);
  });

  test('map, starmap and chunks run the task in-process for each item', async () => {
    await expect((await xmap('record', [1, 2]).applyAsync(env.app)).get(T)).resolves.toEqual([[1], [2]]);
    await expect(
      (
        await xstarmap('add', [
          [1, 2],
          [3, 4],
        ]).applyAsync(env.app)
      ).get(T),
    ).resolves.toEqual([3, 7]);
    const parts = await chunks(
      'add',
      [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      2,
    ).applyAsync(env.app);
    await expect(parts.get(T)).resolves.toEqual([[2, 4], [6]]);
    const missing = await xmap('nope', [1]).applyAsync(env.app);
    await expect(missing.get(T)).rejects.toMatchObject({ excType: 'NotRegistered', excMessage: ['nope'] });
  });
});

describe('canvas on rpc://', () => {
  test('a chord is refused before anything is sent, as Celery 5.2 refuses it', async () => {
    const env = setup('rpc');
    await env.worker.start();
    try {
      await expect(chord([s('add', 1, 1)], s('tsum')).applyAsync(env.app)).rejects.toBeInstanceOf(ChordsNotSupportedError);
      await expect(chain(s('add', 1, 1), group(s('add', 1), s('add', 2)), s('tsum')).applyAsync(env.app)).rejects.toBeInstanceOf(ChordsNotSupportedError);
      expect(env.calls).toHaveLength(0);
      // chains, groups and links work: every state travels to the client's reply queue
      await expect((await chain(s('add', 1, 1), s('add', 3)).applyAsync(env.app)).get(T)).resolves.toBe(5);
      await expect((await group(s('add', 1), s('add', 2)).applyAsync(env.app)).get(T)).resolves.toEqual([1, 2]);
    } finally {
      await env.worker.stop();
      await env.app.close();
    }
  });
});

const waitFor = (check: () => boolean): Promise<void> => eventually(check, 'the canvas state', undefined, 10);

describe('stamp()', () => {
  test('reaches chain steps, chord header and body, and links; the chain itself carries none', async () => {
    const { chain, chord, signature } = await import('./index.js');
    const body = signature('b').link(signature('l'));
    const c = chain(signature('a'), chord([signature('h1'), signature('h2')], body)).stamp({ trace: 't' });
    type StampedNode = { options: Record<string, unknown> & { link: StampedNode[] }; kwargs: { header: StampedNode[]; body: StampedNode } };
    const d = c.toDict() as unknown as { options: Record<string, unknown>; kwargs: { tasks: StampedNode[] } };
    expect(d.options).not.toHaveProperty('stamped_headers');
    const [first, ch] = d.kwargs.tasks;
    expect(first.options).toMatchObject({ stamped_headers: ['trace'], trace: 't' });
    for (const h of ch.kwargs.header) expect(h.options).toMatchObject({ stamped_headers: ['trace'], trace: 't' });
    expect(ch.kwargs.body.options).toMatchObject({ stamped_headers: ['trace'], trace: 't' });
    expect(ch.kwargs.body.options.link[0].options).toMatchObject({ stamped_headers: ['trace'], trace: 't' });
  });
});
