import { TickBatcher } from './result-backend.batcher.js';

/** yield to the next job (microtask): whatever an earlier job queued has run */
const nextJob = () => Promise.resolve();

describe('TickBatcher', () => {
  it('runs calls made in the same tick as one batch, duplicates sharing a slot', async () => {
    const runs: string[][] = [];
    const b = new TickBatcher<string, string>(async (keys) => (runs.push(keys), keys.map((k) => k.toUpperCase())));
    const results = await Promise.all([b.add('a'), b.add('b'), b.add('a')]);
    expect(results).toEqual(['A', 'B', 'A']);
    expect(runs).toEqual([['a', 'b']]);
    expect(await b.add('c')).toBe('C');
    expect(runs).toEqual([['a', 'b'], ['c']]);
  });

  it('with distinct keys, every add has a slot of its own (no lookup), results and order as added', async () => {
    const runs: string[][] = [];
    let n = 0;
    const b = new TickBatcher<string, string>(async (keys) => (runs.push(keys), keys.map((k) => `${k}${n++}`)), 1000, undefined, true);
    expect(await Promise.all([b.add('a'), b.add('b'), b.add('a')])).toEqual(['a0', 'b1', 'a2']);
    expect(runs).toEqual([['a', 'b', 'a']]);
  });

  it('splits a burst into batches of at most maxBatch', async () => {
    const sizes: number[] = [];
    const b = new TickBatcher<number, number>(async (keys) => (sizes.push(keys.length), keys.map((k) => k * 2)), 4);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => b.add(i)));
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => i * 2));
    expect(sizes).toEqual([4, 4, 2]);
  });

  it('with a weight bound, a batch also stops before the key that would take it over (a heavy key goes alone)', async () => {
    const runs: string[][] = [];
    const b = new TickBatcher<string, number>(async (keys) => (runs.push(keys), keys.map((k) => k.length)), 10, { of: (k) => k.length, max: 6 });
    const keys = ['aa', 'bbb', 'c', 'dddddddd', 'ee', 'f'];
    expect(await Promise.all(keys.map((k) => b.add(k)))).toEqual([2, 3, 1, 8, 2, 1]);
    expect(runs).toEqual([['aa', 'bbb', 'c'], ['dddddddd'], ['ee', 'f']]);
  });

  it('flush() runs what is queued at once instead of at the end of the turn', async () => {
    const runs: string[][] = [];
    const b = new TickBatcher<string, string>(async (keys) => (runs.push(keys), keys));
    const queued = Promise.all([b.add('x'), b.add('y')]);
    b.flush();
    expect(runs).toEqual([['x', 'y']]);
    expect(await queued).toEqual(['x', 'y']);
  });

  it('rejects every waiter of a failed batch, and rejectAll() the queued ones', async () => {
    const b = new TickBatcher<string, void>(async () => {
      throw new Error('boom');
    });
    await expect(Promise.all([b.add('x'), b.add('y')])).rejects.toThrow('boom');
    const queued = b.add('z');
    b.rejectAll(new Error('closed'));
    await expect(queued).rejects.toThrow('closed');
  });

  it('an idle batcher runs a lone call at the end of the current job, before the turn ends', async () => {
    const runs: string[][] = [];
    const b = new TickBatcher<string, string>(async (keys) => (runs.push(keys), keys));
    let turnEnded = false;
    setImmediate(() => (turnEnded = true));
    const lone = b.add('a');
    await nextJob(); // the next job: a flush left for the end of the turn would not have run yet
    expect(runs).toEqual([['a']]);
    expect(turnEnded).toBe(false);
    expect(await lone).toBe('a');
  });

  it('while a batch is in flight, calls from separate jobs gather into one batch at the end of the turn', async () => {
    const runs: string[][] = [];
    const replies: (() => void)[] = [];
    const b = new TickBatcher<string, string>((keys) => {
      runs.push(keys);
      return new Promise((resolve) => replies.push(() => resolve(keys)));
    });
    const first = b.add('a');
    await nextJob();
    expect(runs).toEqual([['a']]); // idle: went at once
    const burst: Promise<string>[] = [];
    for (const key of ['b', 'c', 'd']) {
      burst.push(b.add(key));
      await nextJob(); // each call in its own job, as async callers finishing one after another
    }
    expect(runs).toEqual([['a']]); // busy: nothing more sent yet
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual([['a'], ['b', 'c', 'd']]);
    replies.forEach((reply) => reply());
    expect(await first).toBe('a');
    expect(await Promise.all(burst)).toEqual(['b', 'c', 'd']);
  });
});
