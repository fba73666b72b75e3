// The autoscaler's decisions (Celery's _maybe_scale and update) on a counted pool with an injected clock, the checks
// of the autoscale option and AUTOSCALE_KEEPALIVE, and an event-loop worker autoscaling on the memory transport.
import { expect } from '@jest/globals';
import { silentLogger } from '../../common/logger.js';
import { Celery } from '../celery.js';
import { Autoscaler, autoscaleKeepalive, autoscaleRange, type AutoscaledPool } from './autoscale.js';
import { Worker } from './worker.js';
import { eventually } from '../../../../../test/support/eventually.js';

/** A pool that only counts: its size, the work it holds, and every resize asked of it. */
class CountedPool implements AutoscaledPool {
  current: number;
  work = 0;
  prefetch: number;
  readonly resizes: [size: number, max: number][] = [];
  constructor(size: number, max: number) {
    this.current = size;
    this.prefetch = max;
  }
  size = () => this.current;
  demand = () => this.work;
  resize(size: number, max: number): void {
    this.resizes.push([size, max]);
    this.current = size;
    this.prefetch = max;
  }
}

function setup(max: number, min: number, keepalive = 30) {
  let now = 1_000_000;
  const pool = new CountedPool(min, max);
  const scaler = new Autoscaler(pool, { max, min, keepalive, logger: silentLogger, now: () => now });
  return { pool, scaler, advance: (seconds: number) => (now += seconds * 1000) };
}

describe('Autoscaler', () => {
  test('more work than processes grows the pool at once to the work, at most max', () => {
    const { pool, scaler } = setup(3, 1);
    pool.work = 2;
    expect(scaler.maybeScale()).toBe(true);
    expect(pool.current).toBe(2);
    pool.work = 10;
    scaler.maybeScale();
    expect(pool.current).toBe(3);
    expect(pool.resizes).toEqual([
      [2, 3],
      [3, 3],
    ]);
    expect(scaler.info()).toEqual({ max: 3, min: 1, current: 3, qty: 10 });
  });

  test('shrinks toward the work, never below min, only after keepalive since the last scale-up', () => {
    const { pool, scaler, advance } = setup(4, 1, 2);
    pool.work = 4;
    scaler.maybeScale();
    expect(pool.current).toBe(4);
    pool.work = 2;
    advance(1);
    scaler.maybeScale();
    expect(pool.current).toBe(4);
    advance(1);
    // Celery compares with >: exactly keepalive is not yet enough
    scaler.maybeScale();
    expect(pool.current).toBe(4);
    advance(0.001);
    scaler.maybeScale();
    expect(pool.current).toBe(2);
    pool.work = 0;
    scaler.maybeScale();
    expect(pool.current).toBe(1);
    expect(scaler.maybeScale()).toBe(false);
  });

  test('a scale-up restarts the keepalive', () => {
    const { pool, scaler, advance } = setup(4, 1, 10);
    pool.work = 2;
    scaler.maybeScale();
    advance(9);
    pool.work = 3;
    scaler.maybeScale();
    pool.work = 0;
    advance(9);
    scaler.maybeScale();
    expect(pool.current).toBe(3);
    advance(2);
    scaler.maybeScale();
    expect(pool.current).toBe(1);
  });

  test('never shrinks before it first grew (Celery: no scale-up yet, no scale-down)', () => {
    const { pool, scaler, advance } = setup(3, 0, 1);
    scaler.update(undefined, 2);
    expect(pool.current).toBe(2);
    scaler.update(undefined, 0);
    advance(60);
    scaler.maybeScale();
    expect(pool.current).toBe(2);
  });

  test('min 0: scales down to no process, and up again on work', () => {
    const { pool, scaler, advance } = setup(3, 0, 1);
    pool.work = 1;
    scaler.maybeScale();
    expect(pool.current).toBe(1);
    pool.work = 0;
    advance(2);
    scaler.maybeScale();
    expect(pool.current).toBe(0);
    pool.work = 1;
    scaler.maybeScale();
    expect(pool.current).toBe(1);
  });

  test('update: a lower max shrinks at once and the prefetch follows max; a higher min grows at once; either may be left out', () => {
    const { pool, scaler } = setup(3, 1);
    pool.work = 3;
    scaler.maybeScale();
    expect(scaler.update(4, 1)).toEqual([4, 1]);
    expect(pool.prefetch).toBe(4);
    expect(pool.current).toBe(3);
    expect(scaler.update(2)).toEqual([2, 1]);
    expect([pool.current, pool.prefetch]).toEqual([2, 2]);
    expect(scaler.update(undefined, 2)).toEqual([2, 2]);
    expect(scaler.update(5)).toEqual([5, 2]);
    expect(pool.prefetch).toBe(5);
    expect(scaler.update()).toEqual([5, 2]);
    pool.work = 0;
    expect(scaler.update(undefined, 4)).toEqual([5, 4]);
    expect(pool.current).toBe(4);
  });
});

describe('autoscale option', () => {
  test('[max, min] of whole numbers with max ≥ 1 and 0 ≤ min ≤ max; min defaults to 0 as in Celery', () => {
    expect(autoscaleRange(undefined)).toBeUndefined();
    expect(autoscaleRange([3, 1])).toEqual({ max: 3, min: 1 });
    expect(autoscaleRange([10])).toEqual({ max: 10, min: 0 });
    expect(() => autoscaleRange([1, 3])).toThrow('autoscale [max, min] needs max ≥ 1 and 0 ≤ min ≤ max, got [1, 3]');
    expect(() => autoscaleRange([0, 0])).toThrow(RangeError);
    expect(() => autoscaleRange([2.5, 1])).toThrow("autoscale must be [max, min] with whole numbers (Celery's --autoscale=max,min), got [2.5,1]");
    expect(() => autoscaleRange(['3', '1'])).toThrow(TypeError);
    expect(() => autoscaleRange('3,1')).toThrow(TypeError);
    expect(() => autoscaleRange([3, 1, 0])).toThrow(TypeError);
  });

  test('keepalive: the option, else AUTOSCALE_KEEPALIVE, else 30 seconds; > 0', () => {
    expect(autoscaleKeepalive(undefined, {})).toBe(30);
    expect(autoscaleKeepalive(undefined, { AUTOSCALE_KEEPALIVE: '2.5' })).toBe(2.5);
    expect(autoscaleKeepalive(4, { AUTOSCALE_KEEPALIVE: '2.5' })).toBe(4);
    expect(() => autoscaleKeepalive(0, {})).toThrow(RangeError);
    expect(() => autoscaleKeepalive(undefined, { AUTOSCALE_KEEPALIVE: 'soon' })).toThrow('autoscale keepalive must be seconds > 0');
  });
});

describe('an event-loop worker with autoscale (memory transport)', () => {
  let app: Celery;
  let worker: Worker | undefined;
  afterEach(async () => {
    await worker?.stop(1000);
    await app.close();
  });

  test('refuses a bad range at startup', () => {
    app = new Celery({ broker: 'memory://autoscale-bad', logger: silentLogger });
    expect(() => new Worker(app, { autoscale: [1, 3], logger: silentLogger })).toThrow('needs max ≥ 1 and 0 ≤ min ≤ max, got [1, 3]');
    expect(() => new Worker(app, { autoscale: [3, 0.5], logger: silentLogger })).toThrow(TypeError);
    expect(() => new Worker(app, { autoscale: [3, 1], autoscaleKeepalive: -1, logger: silentLogger })).toThrow(RangeError);
  });

  test('runs up to max tasks at once under a burst, answers stats / pool_grow / autoscale as prefork does, and shrinks back to min', async () => {
    app = new Celery({ broker: 'memory://autoscale-loop', backend: 'memory://autoscale-loop', logger: silentLogger });
    const hostname = 'scaler@memory';
    worker = new Worker(app, { hostname, autoscale: [3, 1], autoscaleKeepalive: 0.2, logger: silentLogger });
    let running = 0;
    let most = 0;
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    worker.register('hold', async () => {
      most = Math.max(most, ++running);
      await gate;
      running--;
      return 'done';
    });
    await worker.start();
    const stats = async () => (await app.control.inspect({ destination: [hostname], timeout: 5000 }).stats())[hostname];
    const before = await stats();
    expect(before.autoscaler).toEqual({ max: 3, min: 1, current: 1, qty: 0 });
    expect(before.prefetch_count).toBe(3);
    expect((before.pool as Record<string, unknown>)['max-concurrency']).toBe(1);

    const results = await Promise.all(Array.from({ length: 5 }, () => app.sendTask('hold', [])));
    await eventually(() => running === 3, 'three tasks running at once');
    const busy = await stats();
    expect(busy.autoscaler).toEqual({ max: 3, min: 1, current: 3, qty: 3 });
    expect(busy.prefetch_count).toBe(3);
    for (const command of ['pool_grow', 'pool_shrink'])
      expect(await app.control.broadcast(command, { destination: [hostname], arguments: { n: 1 }, reply: true, timeout: 5000 })).toEqual([
        { [hostname]: { error: `${command} is not supported with autoscale. Adjust autoscale range instead.` } },
      ]);

    open();
    for (const r of results) await expect(r.get({ timeout: 10_000 })).resolves.toBe('done');
    expect(most).toBe(3);
    await eventually(async () => ((await stats()).autoscaler as { current: number }).current === 1, 'the pool back at min', 15_000, 100);

    const reply = async (args: Record<string, unknown>) =>
      (await app.control.broadcast('autoscale', { destination: [hostname], arguments: args, reply: true, timeout: 5000 }))[0][hostname];
    expect(await reply({ max: 4, min: 1 })).toEqual({ ok: 'autoscale now max=4 min=1' });
    expect((await stats()).prefetch_count).toBe(4);
    expect(await reply({ min: 2 })).toEqual({ ok: 'autoscale now max=4 min=2' });
    expect(((await stats()).autoscaler as { current: number }).current).toBe(2);
    expect(await reply({ max: 1 })).toEqual({ error: "ValueError('autoscale needs max ≥ 1 and 0 ≤ min ≤ max, got max=1 min=2')" });
    expect(await reply({ max: 'x' })).toEqual({ error: expect.stringContaining('expected a whole number') });
    expect(await reply({ max: 13 })).toEqual({ error: expect.stringContaining('autoscale max cannot be past 12') });
  }, 60_000);
});
