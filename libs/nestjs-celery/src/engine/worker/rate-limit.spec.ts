// Unit tests of Celery's rate strings and the per-task-type turns of rate-limit.ts.
import { RateLimitError, RateLimits, parseRate } from './rate-limit.js';

describe('parseRate (celery.utils.time.rate)', () => {
  test.each([
    ['10/s', 10],
    ['100/m', 100 / 60],
    ['1000/h', 1000 / 3600],
    ['0.5/s', 0.5],
    ['7', 7],
    ['3/', 3],
    [' 2 /m', 2 / 60],
    [5, 5],
    [null, 0],
    ['', 0],
    [0, 0],
    ['0/s', 0],
  ])('%p is %p tasks per second', (value, perSecond) => {
    expect(parseRate(value)).toBeCloseTo(perSecond, 12);
  });

  test('a count Python cannot read is its ValueError, an unknown unit its KeyError', () => {
    expect(() => parseRate('ten/s')).toThrow(RateLimitError);
    try {
      parseRate('ten/s');
    } catch (error) {
      expect((error as RateLimitError).python).toEqual({ type: 'ValueError', arg: "could not convert string to float: 'ten'" });
    }
    try {
      parseRate('5/d');
    } catch (error) {
      expect((error as RateLimitError).python).toEqual({ type: 'KeyError', arg: 'd' });
    }
    expect(() => parseRate('-1/s')).toThrow(RateLimitError);
    expect(() => parseRate({})).toThrow(RateLimitError);
  });
});

describe('RateLimits', () => {
  test('one task per 1/rate seconds per task type, the first at once, other types untouched', () => {
    const limits = new RateLimits();
    const t0 = 1_000_000;
    expect(limits.turn('a', '10/s', t0)).toBeUndefined();
    expect(limits.turn('a', '10/s', t0)).toBe(t0 + 100);
    expect(limits.turn('a', '10/s', t0 + 10)).toBe(t0 + 200);
    expect(limits.turn('b', null, t0)).toBeUndefined();
    expect(limits.turn('b', null, t0)).toBeUndefined();
    // once the bucket refilled, the next runs at once again
    expect(limits.turn('a', '10/s', t0 + 1000)).toBeUndefined();
  });

  test('the default applies to tasks without their own; disableRateLimits turns every limit off', () => {
    const t0 = 5_000;
    const limited = new RateLimits({ defaultRateLimit: '1/s' });
    expect(limited.turn('x', undefined, t0)).toBeUndefined();
    expect(limited.turn('x', undefined, t0)).toBe(t0 + 1000);
    expect(limited.conf()).toEqual({ task_default_rate_limit: '1/s', worker_disable_rate_limits: false });
    const off = new RateLimits({ defaultRateLimit: '1/s', disableRateLimits: true });
    expect(off.turn('x', '1/s', t0)).toBeUndefined();
    expect(off.turn('x', '1/s', t0)).toBeUndefined();
  });

  test('set() changes the rate from the next turn; null removes it; a bad rate is refused', () => {
    const limits = new RateLimits();
    const t0 = 10_000;
    expect(limits.turn('a', '1/s', t0)).toBeUndefined();
    expect(limits.turn('a', '1/s', t0)).toBe(t0 + 1000);
    limits.set('a', '2/s');
    expect(limits.rateLimitOf('a', '1/s')).toBe('2/s');
    expect(limits.turn('a', '1/s', t0)).toBeUndefined();
    expect(limits.turn('a', '1/s', t0)).toBe(t0 + 500);
    limits.set('a', null);
    expect(limits.rateLimitOf('a', '1/s')).toBeNull();
    expect(limits.turn('a', '1/s', t0)).toBeUndefined();
    expect(limits.turn('a', '1/s', t0)).toBeUndefined();
    expect(() => limits.set('a', 'x/s')).toThrow(RateLimitError);
    expect(() => new RateLimits({ defaultRateLimit: '1/y' })).toThrow(RateLimitError);
  });

  test('admit() holds what waits for a turn, setting aside at most maxAside of them', async () => {
    const holds: { at: Date; aside: boolean; run: () => Promise<void> }[] = [];
    const limits = new RateLimits(
      {},
      (_delivery, at, run, aside) => {
        holds.push({ at, aside, run });
        return new Promise<void>(() => undefined);
      },
      2,
    );
    const ran: number[] = [];
    const delivery = {} as never;
    for (let i = 0; i < 4; i++) void limits.admit('t', '1/h', delivery, async () => void ran.push(i));
    expect(ran).toEqual([0]);
    expect(holds.map((h) => h.aside)).toEqual([true, true, false]);
    expect(limits.held).toBe(3);
    await holds[0].run();
    expect(ran).toEqual([0, 1]);
    expect(limits.held).toBe(2);
  });
});
