import { Redis } from 'ioredis';
import { firstValueFrom, lastValueFrom, take, timeout, toArray } from 'rxjs';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { loads } from '../../libs/nestjs-celery/src/protocol/json.js';
import type { ResultMeta } from '../../libs/nestjs-celery/src/protocol/result-meta.js';
import { RedisBackend } from '../../libs/nestjs-celery/src/transport/redis/backend/redis.backend.js';
import { ResultBackendError } from '../../libs/nestjs-celery/src/transport/result-backend.errors.js';
import { describeIfAvailable, REDIS_URL, uniqueName } from '../support/services.js';
import { runPeer, type PeerOutcome } from './backend-peer.js';
import { resultMeta, valueError } from './result-metas.js';
import { eventually } from '../support/eventually.js';
import { redisMonitor } from '../support/redis-monitor.js';

const describeRedis = await describeIfAvailable('redis result backend', 'redis');
const describeInterop = await describeIfAvailable('redis result backend ↔ python celery', 'redis', 'python-celery');

const KEY = (id: string) => `celery-task-meta-${id}`;
const collect = (backend: RedisBackend, id: string, ms = 30_000) => lastValueFrom(backend.watch(id).pipe(timeout(ms), toArray()));
const statuses = (metas: ResultMeta[]) => metas.map((m) => m.status);

/** `CLIENT LIST` rows whose name starts with `prefix` */
async function clients(redis: Redis, prefix: string): Promise<Record<string, string>[]> {
  const list = (await redis.client('LIST')) as string;
  return list
    .split('\n')
    .filter(Boolean)
    .map((line) => Object.fromEntries(line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])))
    .filter((c) => c.name?.startsWith(prefix));
}

const until = (check: () => Promise<boolean> | boolean): Promise<void> => eventually(check, 'the backend state');

describeRedis('RedisBackend', () => {
  let redis: Redis;
  let backend: RedisBackend;
  let name: string;
  const extra: (Redis | RedisBackend)[] = [];
  /** a plain connection / another backend, closed after the test even when it fails */
  const own = <T extends Redis | RedisBackend>(c: T): T => (extra.push(c), c);
  const ids: string[] = [];
  const newId = () => {
    const id = uniqueName('rb');
    ids.push(id);
    return id;
  };

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
  });
  beforeEach(async () => {
    name = uniqueName('nc-test');
    backend = new RedisBackend(REDIS_URL, { logger: silentLogger, connectionName: name });
    await backend.connect();
  });
  afterEach(async () => {
    await backend.close();
    for (const c of extra.splice(0)) await (c instanceof RedisBackend ? c.close() : c.disconnect());
  });
  afterAll(async () => {
    if (ids.length) await redis.del(...ids.map(KEY));
    redis.disconnect();
  });

  it('stores SETEX with result_expires (default 86400) and PUBLISHes the same bytes', async () => {
    const id = newId();
    const sub = own(new Redis(REDIS_URL));
    const published = new Promise<string>((resolve) => sub.on('message', (_c: string, m: string) => resolve(m)));
    await sub.subscribe(KEY(id));
    await backend.store(resultMeta(id, 'SUCCESS', { n: 1 }), { taskId: id });
    const stored = await redis.get(KEY(id));
    expect(await published).toBe(stored);
    expect(loads(stored!)).toEqual(expect.objectContaining({ status: 'SUCCESS', result: { n: 1 }, task_id: id }));
    const ttl = await redis.ttl(KEY(id));
    expect(ttl).toBeGreaterThan(86_390);
    expect(ttl).toBeLessThanOrEqual(86_400);
  });

  it('honours a custom expiry, and plain SET when expiry is off', async () => {
    const custom = own(new RedisBackend(REDIS_URL, { logger: silentLogger, resultExpiresSeconds: 60 }));
    const forever = own(new RedisBackend(REDIS_URL, { logger: silentLogger, resultExpiresSeconds: null }));
    const [a, b] = [newId(), newId()];
    await custom.store(resultMeta(a, 'STARTED', null), { taskId: a });
    await forever.store(resultMeta(b, 'STARTED', null), { taskId: b });
    const ttl = await redis.ttl(KEY(a));
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await redis.ttl(KEY(b))).toBe(-1);
  });

  it('never overwrites a stored SUCCESS (and publishes nothing for the refused write)', async () => {
    const id = newId();
    await backend.store(resultMeta(id, 'SUCCESS', 42), { taskId: id });
    const sub = own(new Redis(REDIS_URL));
    const messages: string[] = [];
    sub.on('message', (_c: string, m: string) => messages.push(m));
    await sub.subscribe(KEY(id));
    await backend.store(resultMeta(id, 'FAILURE', valueError('late'), { traceback: 'tb' }), { taskId: id });
    await backend.store(resultMeta(id, 'STARTED', null), { taskId: id });
    expect((await backend.get(id))?.status).toBe('SUCCESS');
    expect((await backend.get(id))?.result).toBe(42);
    await sub.ping(); // the subscriber's own round trip: any message would have arrived before it
    expect(messages).toEqual([]);
    // a non-final state is overwritten as usual
    const other = newId();
    await backend.store(resultMeta(other, 'STARTED', null), { taskId: other });
    await backend.store(resultMeta(other, 'FAILURE', valueError('x')), { taskId: other });
    expect((await backend.get(other))?.status).toBe('FAILURE');
  });

  it('stores made in one turn go out as one script call per 128, in order, each resolving on its own', async () => {
    // one store first, so the script is loaded (ioredis falls back from EVALSHA to EVAL once)
    const warm = newId();
    await backend.store(resultMeta(warm, 'SUCCESS', 0), { taskId: warm });
    const batch = Array.from({ length: 300 }, () => newId());
    const same = newId();
    const ours = new Set([...batch, same].map(KEY));
    // MONITOR shows every command with its arguments; ours are the EVALSHA of the store script
    const monitor = await redisMonitor(REDIS_URL);
    const calls: string[][] = [];
    const marker = uniqueName('end-of-batch');
    const seen = new Promise<void>((resolve) => {
      monitor.onCommand((args) => {
        // only this test's keys: other suites may store results on the same Redis meanwhile
        if (args[0].toLowerCase().startsWith('eval') && ours.has(args[3])) calls.push(args);
        if (args[0].toLowerCase() === 'ping' && args[1] === marker) resolve();
      });
    });
    const stores = [
      ...batch.map((id, i) => backend.store(resultMeta(id, 'SUCCESS', i), { taskId: id })),
      // three states of one task in the same turn: applied in order, SUCCESS stays final
      backend.store(resultMeta(same, 'STARTED', null), { taskId: same }),
      backend.store(resultMeta(same, 'SUCCESS', 'done'), { taskId: same }),
      backend.store(resultMeta(same, 'FAILURE', valueError('late')), { taskId: same }),
    ];
    await Promise.all(stores);
    await redis.ping(marker);
    await seen;
    monitor.close();
    // 303 stores: 128 + 128 + 47, each call carrying numkeys, the keys, the values and the TTL
    expect(calls.map((args) => Number(args[2]))).toEqual([128, 128, 47]);
    for (const args of calls) expect(args).toHaveLength(3 + 2 * Number(args[2]) + 1);
    const values = await redis.mget(...batch.map(KEY));
    expect(values.map((v) => (loads(v!) as ResultMeta).result)).toEqual(batch.map((_, i) => i));
    expect(await backend.get(same)).toEqual(expect.objectContaining({ status: 'SUCCESS', result: 'done' }));
  });

  it('in a batch, a key Redis cannot GET fails only its own store', async () => {
    const [good, bad, after] = [newId(), newId(), newId()];
    await redis.lpush(KEY(bad), 'not a result');
    const outcomes = await Promise.allSettled([
      backend.store(resultMeta(good, 'SUCCESS', 1), { taskId: good }),
      backend.store(resultMeta(bad, 'SUCCESS', 2), { taskId: bad }),
      backend.store(resultMeta(after, 'SUCCESS', 3), { taskId: after }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/not a string/);
    expect(await redis.type(KEY(bad))).toBe('list');
    expect((await backend.get(after))?.result).toBe(3);
  });

  it('a store made just before close() still reaches Redis', async () => {
    const own2 = new RedisBackend(REDIS_URL, { logger: silentLogger });
    await own2.connect();
    const id = newId();
    const stored = own2.store(resultMeta(id, 'SUCCESS', 'last'), { taskId: id });
    await own2.close();
    await stored;
    expect(loads((await redis.get(KEY(id)))!)).toEqual(expect.objectContaining({ status: 'SUCCESS', result: 'last' }));
  });

  it('watch: a result stored BEFORE watching comes from GET, exactly once', async () => {
    const id = newId();
    await backend.store(resultMeta(id, 'SUCCESS', 'early'), { taskId: id });
    const seen = await collect(backend, id);
    expect(statuses(seen)).toEqual(['SUCCESS']);
    expect(seen[0].result).toBe('early');
  });

  it('watch: intermediate states (STARTED, custom PROGRESS, RETRY) in order, completes on SUCCESS', async () => {
    const id = newId();
    await backend.store(resultMeta(id, 'STARTED', { pid: 1 }), { taskId: id });
    await backend.onTaskCall(id);
    const all = collect(backend, id);
    await firstValueFrom(backend.watch(id)); // STARTED seen: the watcher is synced
    await backend.store(resultMeta(id, 'PROGRESS', { current: 1, total: 2 }), { taskId: id });
    await backend.store(resultMeta(id, 'RETRY', valueError('again'), { traceback: 'tb' }), { taskId: id });
    await backend.store(resultMeta(id, 'SUCCESS', 'done'), { taskId: id });
    await backend.store(resultMeta(id, 'FAILURE', valueError('never')), { taskId: id });
    const seen = await all;
    expect(statuses(seen)).toEqual(['STARTED', 'PROGRESS', 'RETRY', 'SUCCESS']);
    expect(seen[1].result).toEqual({ current: 1, total: 2 });
    expect(seen[3].result).toBe('done');
  });

  it('watchers of one id share the subscription; it is released after the ready state', async () => {
    const id = newId();
    const a = collect(backend, id);
    const b = collect(backend, id);
    await backend.onTaskCall(id);
    expect(backend.subscriptionCount).toBe(1);
    const [sub] = await clients(redis, `${name}:results-subscriber`);
    expect(sub.sub).toBe('1');
    await backend.store(resultMeta(id, 'SUCCESS', 'x'), { taskId: id });
    expect(statuses(await a)).toEqual(['SUCCESS']);
    expect(statuses(await b)).toEqual(['SUCCESS']);
    expect(backend.subscriptionCount).toBe(0);
    await until(async () => (await clients(redis, `${name}:results-subscriber`))[0].sub === '0');
  });

  it("a ready state that arrives on the on_task_call subscription before anyone watches is kept for the next watch (Celery's pending messages)", async () => {
    const id = newId();
    await backend.onTaskCall(id);
    const writer = own(new RedisBackend(REDIS_URL, { logger: silentLogger }));
    await writer.store(resultMeta(id, 'SUCCESS', 'kept'), { taskId: id });
    await until(() => backend.subscriptionCount === 0); // the ready state arrived: subscription released
    await redis.del(KEY(id)); // a new SUBSCRIBE + GET would now find nothing
    const seen = await collect(backend, id);
    expect(statuses(seen)).toEqual(['SUCCESS']);
    expect(seen[0].result).toBe('kept');
    expect(backend.subscriptionCount).toBe(0);
  });

  it('forget() drops a kept ready state: the next watch reads Redis again', async () => {
    const id = newId();
    await backend.onTaskCall(id);
    await backend.store(resultMeta(id, 'SUCCESS', 'old'), { taskId: id });
    await until(() => backend.subscriptionCount === 0);
    await backend.forget(id);
    const next = collect(backend, id);
    await until(() => backend.subscriptionCount === 1); // waiting on Redis, not answered from memory
    await backend.store(resultMeta(id, 'SUCCESS', 'new'), { taskId: id });
    expect((await next).map((m) => m.result)).toEqual(['new']);
  });

  it('unsubscribing the last watcher releases the channel', async () => {
    const id = newId();
    const subscription = backend.watch(id).subscribe();
    await backend.onTaskCall(id);
    expect(backend.subscriptionCount).toBe(1);
    subscription.unsubscribe();
    expect(backend.subscriptionCount).toBe(0);
    await until(async () => (await clients(redis, `${name}:results-subscriber`))[0].sub === '0');
  });

  it('get() and forget()', async () => {
    const id = newId();
    expect(await backend.get(id)).toBeUndefined();
    await backend.store(resultMeta(id, 'STARTED', null), { taskId: id });
    expect((await backend.get(id))?.status).toBe('STARTED');
    await backend.forget(id);
    expect(await redis.exists(KEY(id))).toBe(0);
    expect(await backend.get(id)).toBeUndefined();
  });

  it('connect() to an unreachable Redis rejects with a ResultBackendError that names the URL (password hidden)', async () => {
    const down = own(new RedisBackend('redis://user:secret@127.0.0.1:1/0', { logger: silentLogger }));
    const error = await down.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResultBackendError);
    expect((error as Error).message).toMatch(/redis:\/\/user:\*\*\*@127\.0\.0\.1:1\/0 .*ECONNREFUSED.*check the URL/);
    expect((error as Error).message).not.toContain('secret');
  });

  it('1,000 concurrent watches ride one subscriber connection, batched, and all complete', async () => {
    const n = 1000;
    const batch = Array.from({ length: n }, () => newId());
    const before = await clients(redis, name);
    const subscribeCalls = async () => Number(/cmdstat_subscribe:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    const callsBefore = await subscribeCalls();
    const done = batch.map((id) => collect(backend, id, 10_000));
    await Promise.all(batch.map((id) => backend.onTaskCall(id)));
    // coalesced per tick: a handful of SUBSCRIBE commands, not one per task. The counter is the
    // server's, shared with the suites running beside this one (Python workers, canvas, events
    // subscribe too), so the bound is half of one-per-task rather than the handful we send.
    expect((await subscribeCalls()) - callsBefore).toBeLessThan(n / 2);
    const during = await clients(redis, name);
    expect(during).toHaveLength(2); // results + results-subscriber, whatever the number of tasks
    expect(before.length).toBeLessThanOrEqual(2);
    expect(during.find((c) => c.name === `${name}:results-subscriber`)?.sub).toBe(String(n));
    const writer = own(new RedisBackend(REDIS_URL, { logger: silentLogger }));
    await Promise.all(batch.map((id, i) => writer.store(resultMeta(id, 'SUCCESS', i), { taskId: id })));
    const results = await Promise.all(done);
    expect(results.map((r) => r.map((m) => m.result))).toEqual(batch.map((_, i) => [i]));
    expect(backend.subscriptionCount).toBe(0);
  });

  it('after the subscriber connection drops: re-subscribes and MGETs what was stored meanwhile', async () => {
    const [stored, later] = [newId(), newId()];
    const a = collect(backend, stored);
    const b = collect(backend, later);
    await Promise.all([backend.onTaskCall(stored), backend.onTaskCall(later)]);
    const [sub] = await clients(redis, `${name}:results-subscriber`);
    const statuses$ = lastValueFrom(backend.status$.pipe(take(3), toArray()));
    await redis.client('KILL', 'ID', sub.id);
    // written while our subscriber is gone: only the MGET after reconnect can see it
    await redis.set(KEY(stored), JSON.stringify(resultMeta(stored, 'SUCCESS', 'during outage')));
    expect((await a).map((m) => m.result)).toEqual(['during outage']);
    await until(async () => (await clients(redis, `${name}:results-subscriber`))[0]?.sub === '1');
    await backend.store(resultMeta(later, 'SUCCESS', 'after'), { taskId: later });
    expect((await b).map((m) => m.result)).toEqual(['after']);
    expect(await statuses$).toEqual(['connected', 'disconnected', 'reconnecting']);
  });
});

describeInterop('RedisBackend ↔ Python Celery 5.2', () => {
  let redis: Redis;
  let backend: RedisBackend;
  const ids: string[] = [];
  const newId = () => {
    const id = uniqueName('rbpy');
    ids.push(id);
    return id;
  };
  const py = { backend: REDIS_URL, broker: REDIS_URL };

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    backend = new RedisBackend(REDIS_URL, { logger: silentLogger });
    await backend.connect();
  });
  afterAll(async () => {
    await backend.close();
    if (ids.length) await redis.del(...ids.map(KEY));
    redis.disconnect();
  });

  it('stores the same bytes as Python (keys, order, separators, escapes; only id and time differ), with the same TTL', async () => {
    const [pyOk, pyFail, pyProg, ok, fail, prog] = Array.from({ length: 6 }, newId);
    const request = { group: 'g-1', parent_id: 'p-1' };
    await runPeer({
      action: 'store',
      ...py,
      items: [
        { id: pyOk, state: 'SUCCESS', result: { a: [1, 2.5], u: 'é ✓' }, request },
        { id: pyFail, state: 'FAILURE', exc: ['bad'], traceback: 'Traceback...', request },
        { id: pyProg, state: 'PROGRESS', result: { current: 3 }, request },
      ],
    });
    const extra = { group_id: 'g-1', parent_id: 'p-1' };
    await backend.store(resultMeta(ok, 'SUCCESS', { a: [1, 2.5], u: 'é ✓' }, extra), { taskId: ok });
    await backend.store(resultMeta(fail, 'FAILURE', valueError('bad'), { ...extra, traceback: 'Traceback...' }), { taskId: fail });
    await backend.store(resultMeta(prog, 'PROGRESS', { current: 3 }, extra), { taskId: prog });
    const shape = (doc: Record<string, unknown>) => Object.entries(doc).map(([k, v]) => [k, v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v]);
    for (const [theirs, ours] of [
      [pyOk, ok],
      [pyFail, fail],
      [pyProg, prog],
    ]) {
      const [theirRaw, ourRaw] = [(await redis.get(KEY(theirs)))!, (await redis.get(KEY(ours)))!];
      const normalized = (raw: string, id: string) => raw.replace(id, '<id>').replace(/"date_done": "[^"]+"/, '"date_done": "<time>"');
      expect(normalized(ourRaw, ours)).toBe(normalized(theirRaw, theirs));
      const t = loads(theirRaw) as Record<string, unknown>;
      const o = loads(ourRaw) as Record<string, unknown>;
      expect(shape(o)).toEqual(shape(t));
      // same values except the id and the time
      expect({ ...o, task_id: 0, date_done: typeof o.date_done }).toEqual({ ...t, task_id: 0, date_done: typeof t.date_done });
      expect(Math.abs((await redis.ttl(KEY(ours))) - (await redis.ttl(KEY(theirs))))).toBeLessThanOrEqual(5);
    }
  });

  it('our watch sees a result written by Python mark_as_done', async () => {
    const id = newId();
    const seen = collect(backend, id, 15_000);
    await backend.onTaskCall(id);
    await runPeer({
      action: 'store',
      ...py,
      items: [
        { id, state: 'STARTED', result: { pid: 7 } },
        { id, state: 'SUCCESS', result: [1, 'two'] },
      ],
    });
    const metas = await seen;
    expect(metas.at(-1)).toEqual(expect.objectContaining({ status: 'SUCCESS', result: [1, 'two'], task_id: id }));
    expect(
      statuses(metas)
        .slice(0, -1)
        .every((s) => s === 'STARTED'),
    ).toBe(true);
  });

  it("Python's AsyncResult.get() reads what we store: a value, and a FAILURE raised as ValueError", async () => {
    const [ok, fail] = [newId(), newId()];
    await backend.store(resultMeta(ok, 'SUCCESS', { sum: 3, list: [1, 'a', null] }), { taskId: ok });
    await backend.store(resultMeta(fail, 'FAILURE', valueError('bad input'), { traceback: 'Traceback (most recent call last):\nValueError: bad input' }), {
      taskId: fail,
    });
    const [okOut, failOut] = await Promise.all([
      runPeer<PeerOutcome>({ action: 'get', ...py, id: ok, timeout: 5 }),
      runPeer<PeerOutcome>({ action: 'get', ...py, id: fail, timeout: 5 }),
    ]);
    expect(okOut).toEqual({ state: 'SUCCESS', value: { sum: 3, list: [1, 'a', null] } });
    expect(failOut).toEqual(expect.objectContaining({ state: 'FAILURE', error_type: 'ValueError', is_value_error: true, args: ['bad input'] }));
  });

  it("Python's AsyncResult.get() waits on pub/sub for a result we store later", async () => {
    const id = newId();
    const out = runPeer<PeerOutcome>({ action: 'get', ...py, id, timeout: 10 });
    // Python subscribes once it starts waiting: store after its SUBSCRIBE shows up
    await until(async () => ((await redis.pubsub('NUMSUB', KEY(id))) as [string, number])[1] >= 1);
    await backend.store(resultMeta(id, 'SUCCESS', 'late'), { taskId: id });
    expect(await out).toEqual({ state: 'SUCCESS', value: 'late' });
  });
});
