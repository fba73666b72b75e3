import { LimitedSet } from './limited-set.js';

describe('LimitedSet (Celery revoked ids)', () => {
  let now = 1000;
  const clock = () => now;
  beforeEach(() => (now = 1000));

  test('keeps at most maxlen ids, dropping the oldest first', () => {
    const set = new LimitedSet(3, 0, clock);
    for (const id of ['a', 'b', 'c', 'd']) {
      now += 1;
      set.add(id);
    }
    expect(set.ids()).toEqual(['b', 'c', 'd']);
    expect(set.has('a')).toBe(false);
  });

  test('forgets an id `expires` seconds after it was (re)added', () => {
    const set = new LimitedSet(10, 100, clock);
    set.add('a');
    now = 1010;
    set.add('b');
    now = 1060;
    set.add('a'); // refreshed
    now = 1115; // b (1010) is past 100 s, a (1060) is not
    expect(set.has('a')).toBe(true);
    expect(set.has('b')).toBe(false);
    expect(set.ids()).toEqual(['a']);
  });

  test("update takes Celery's forms: a list of ids, {id: time} and mingle's {id: [time, id]}", () => {
    const set = new LimitedSet(10, 100, clock);
    set.update(['x']);
    set.update({ y: 990.5, z: [995.25, 'z'] });
    expect(set.ids()).toEqual(['y', 'z', 'x']); // ordered by insertion time, older peers' ids first
    now = 1091; // y (990.5) expired, z (995.25) not yet
    expect(set.ids()).toEqual(['z', 'x']);
  });

  test('toWire sends {id: [float time, id]} that Python’s LimitedSet.update accepts (never an integral time)', () => {
    const set = new LimitedSet(10, 0, clock);
    set.add('a', 1000);
    set.add('b', 1000.5);
    const wire = set.toWire();
    expect(wire.b).toEqual([1000.5, 'b']);
    expect(wire.a[1]).toBe('a');
    expect(Number.isInteger(wire.a[0])).toBe(false);
    expect(wire.a[0]).toBeCloseTo(1000, 5);
  });

  test('the default clock is monotonic seconds, like Python time.monotonic() on the same host', () => {
    const set = new LimitedSet(10, 10_800);
    set.add('a');
    const [[inserted]] = Object.values(set.toWire());
    expect(inserted).toBeGreaterThan(0);
    expect(inserted).toBeLessThan(Date.now() / 1000); // seconds since boot, not epoch
  });

  test('merging a large mingle mapping keeps time order and the newest maxlen ids, without quadratic re-sorting', () => {
    // 50,000 ids (Celery's REVOKES_MAX), each older than the last: every one landed behind the
    // newest and re-sorted the whole set (20,000 took 97 s)
    const set = new LimitedSet(50_000, 0, clock);
    set.add('local', 5000);
    const mapping: Record<string, [number, string]> = {};
    for (let i = 0; i < 50_000; i++) mapping[`id-${i}`] = [4000 - i * 0.01, `id-${i}`];
    set.update(mapping);
    const ids = set.ids();
    expect(ids).toHaveLength(50_000);
    expect(ids[ids.length - 1]).toBe('local');
    expect(ids[0]).toBe('id-49998'); // the oldest (id-49999) went over maxlen
    expect(set.has('id-49999')).toBe(false);
    const wire = set.toWire();
    const times = ids.map((id) => wire[id][0]);
    expect(times.every((t, k) => k === 0 || times[k - 1] <= t)).toBe(true);
  }, 60_000);

  test('a mapping interleaving with held ids merges in time order', () => {
    const set = new LimitedSet(10, 0, clock);
    set.add('a', 10);
    set.add('c', 30);
    set.update({ d: [40.5, 'd'], b: 20.5, a: [5.5, 'a'] });
    expect(set.ids()).toEqual(['a', 'b', 'c', 'd']);
    set.add('e', 50);
    set.update({ f: 45.5 });
    expect(set.ids()).toEqual(['a', 'b', 'c', 'd', 'f', 'e']);
  });
});
