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
});
