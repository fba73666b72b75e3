// RedisBackend: Celery's Redis result backend (celery-task-meta-<id>, SETEX + PUBLISH, chord counters).
import type { Redis } from 'ioredis';
import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';
import { consoleLogger, type CeleryLogger } from '../../../common/logger.js';
import { dumps, loads } from '../../../protocol/json.js';
import type { ResultMeta } from '../../../protocol/result-meta.js';
import type { ConnectionStatus } from '../../connection-status.js';
import { combineStatus, RedisConnection, refuseRedisCluster } from '../redis-connection.js';
import { RedisResultSubscriber } from './redis-backend.subscriber.js';
import { RedisChordSupport } from './redis-chord.js';
import { TickBatcher } from '../../result-backend.batcher.js';
import { isSentinelUrl, parseRedisUrl, parseSentinelUrls, type RedisEndpoint, type SentinelOptions } from '../redis-url.js';
import { tlsErrorHint, type SslOptions } from '../../tls-options.js';
import { BackendClosedError, BackendStoreError, ResultBackendError } from '../../result-backend.errors.js';
import type { ResultBackend, ResultBackendCapabilities, StoreTarget } from '../../result-backend.interface.js';
import { getProcessOid } from '../../result-backend.oid.js';

/** Settings of the Redis result backend, named after Celery's `result_*` and `redis_backend_*` settings. */
export interface RedisBackendOptions {
  logger?: CeleryLogger;
  /** Celery's result_expires in seconds (default 86400); null or 0 = keep forever (plain SET) */
  resultExpiresSeconds?: number | null;
  /** default 'celery-task-meta-' (celery/backends/base.py task_keyprefix) */
  keyPrefix?: string;
  /** CLIENT SETNAME prefix of the two connections (`<name>:results`, `<name>:results-subscriber`); default 'nestjs-celery' */
  connectionName?: string;
  /** Celery's SentinelBackend, for sentinel:// URLs: the master's name and the sentinels' credentials */
  sentinel?: SentinelOptions;
  /** Celery's redis_backend_use_ssl: true or TLS settings; the URL's own `ssl_*` query keys win */
  ssl?: boolean | SslOptions;
  /**
   * Celery's result_backend_transport_options `global_keyprefix` (Celery ≥ 5.3): prepended to
   * the result and group keys, with `_` unless it ends in one of `:_-.`
   */
  globalKeyprefix?: string;
}

/** Redis refuses string values over 512 MB (celery/backends/redis.py _MAX_STR_VALUE_SIZE). */
const MAX_VALUE_BYTES = 536_870_912;

/**
 * Celery's `_store_result` (celery/backends/base.py) reads the stored state and leaves a SUCCESS
 * alone, then `_set` (celery/backends/redis.py) runs SETEX (SET without expiry) + PUBLISH in one
 * MULTI. The script does the same for each key it is given, in order, in one round trip and
 * without the read/write race: a worker stores every result finished in one turn of the event
 * loop with one call (see RedisBackend.store). The cjson decode only runs when "SUCCESS"
 * appears at all; the plain-text match is for documents cjson cannot read. Per key it returns
 * 1 (written), 0 (a SUCCESS was there: left alone) or -1 (the key holds something GET cannot
 * read, which Celery's GET would fail on too: that store alone fails).
 */
const STORE_RESULTS_LUA = `
local ttl = tonumber(ARGV[#KEYS + 1])
local written = {}
for i, key in ipairs(KEYS) do
  local current = redis.pcall('GET', key)
  local outcome = 1
  if type(current) == 'table' and current.err then
    outcome = -1
  elseif current and string.find(current, 'SUCCESS', 1, true) then
    local ok, doc = pcall(cjson.decode, current)
    if ok then
      if type(doc) == 'table' and doc['status'] == 'SUCCESS' then outcome = 0 end
    elseif string.find(current, '"status": "SUCCESS"', 1, true) then
      outcome = 0
    end
  end
  if outcome == 1 then
    if ttl and ttl > 0 then
      redis.call('SETEX', key, ttl, ARGV[i])
    else
      redis.call('SET', key, ARGV[i])
    end
    redis.call('PUBLISH', key, ARGV[i])
  end
  written[i] = outcome
end
return written
`;

/** celeryStoreResults(numberOfKeys, ...keys, ...values, ttl) */
type ScriptedRedis = Redis & { celeryStoreResults(...args: (string | number)[]): Promise<number[]> };

/** One result for this turn's store call: a fresh object per store, so none share a slot. */
interface PendingStore {
  readonly key: string;
  readonly value: string;
}

/** Bounds of one store call: Redis runs a script to its end before serving anyone else. */
const MAX_STORES_PER_CALL = 128;
const MAX_BYTES_PER_CALL = 4 * 1024 * 1024;

/**
 * Celery's Redis result backend (`redis://`): results at `celery-task-meta-<id>` written with
 * SETEX + PUBLISH; clients wait on one shared pub/sub connection.
 */
export class RedisBackend implements ResultBackend {
  readonly kind: string = 'redis';
  readonly capabilities: ResultBackendCapabilities = { chords: true };
  /** watch() GETs after its SUBSCRIBE is confirmed: publishing may overlap onTaskCall */
  readonly watchCatchesUp = true;
  readonly oid = getProcessOid();
  private readonly logger: CeleryLogger;
  private readonly expires: number | null;
  private readonly keyPrefix: string;
  private readonly endpoint: RedisEndpoint;
  private readonly commands: RedisConnection;
  private readonly subscriber: RedisResultSubscriber;
  private readonly connections: RedisConnection[] = [];
  private readonly status = new BehaviorSubject<ConnectionStatus>('connecting');
  readonly status$: Observable<ConnectionStatus> = this.status.pipe(distinctUntilChanged());
  /** Celery's native Redis chords (`celery-taskset-meta-<gid>.j/.s/.t`) */
  readonly chord: RedisChordSupport;
  private closed = false;
  /** results stored in this turn, written together at its end (1 written, 0 SUCCESS kept, -1 unreadable key) */
  private readonly stores = new TickBatcher<PendingStore, number>(
    (batch) => this.storeBatch(batch),
    MAX_STORES_PER_CALL,
    { of: (entry) => entry.value.length, max: MAX_BYTES_PER_CALL },
    true,
  );

  /** @param url redis://[user:password@]host[:port][/db] or rediss:// (throws RedisUrlError when malformed) */
  constructor(url: string, options: RedisBackendOptions = {}) {
    this.endpoint = isSentinelUrl(url)
      ? parseSentinelUrls(url, options.sentinel ?? {}, 'result_backend_transport_options')
      : parseRedisUrl(url, options.ssl, 'redis_backend_use_ssl');
    const global = options.globalKeyprefix ? (/[:_\-.]$/.test(options.globalKeyprefix) ? options.globalKeyprefix : `${options.globalKeyprefix}_`) : '';
    this.logger = options.logger ?? consoleLogger('RedisBackend');
    const expires = options.resultExpiresSeconds === undefined ? 86_400 : options.resultExpiresSeconds;
    // Celery prepares expires with int() and only uses SETEX when it is truthy
    this.expires = expires ? Math.trunc(expires) : null;
    this.keyPrefix = global + (options.keyPrefix ?? 'celery-task-meta-');
    const name = options.connectionName ?? 'nestjs-celery';
    this.commands = this.track(
      new RedisConnection(this.endpoint, {
        connectionName: `${name}:results`,
        role: 'result backend',
        logger: this.logger,
        redisOptions: { lazyConnect: true },
      }),
    );
    this.commands.client.defineCommand('celeryStoreResults', { lua: STORE_RESULTS_LUA });
    this.chord = new RedisChordSupport(this.commands.client, { expiresSeconds: this.expires, keyPrefix: `${global}celery-taskset-meta-` });
    this.subscriber = new RedisResultSubscriber({
      endpoint: this.endpoint,
      connectionName: `${name}:results-subscriber`,
      logger: this.logger,
      commands: this.commands.client,
      keyFor: (id) => this.keyFor(id),
      decode: (raw, id) => this.decode(raw, id),
      onConnection: (c) => this.track(c),
    });
  }

  /** The key Celery stores a task's result under. */
  keyFor(taskId: string): string {
    return this.keyPrefix + taskId;
  }

  async connect(): Promise<void> {
    if (this.closed) throw new BackendClosedError('redis result backend was closed; create a new RedisBackend');
    if (this.commands.client.status !== 'wait') return;
    try {
      await this.commands.open();
    } catch (cause) {
      const why = `${(cause as Error).message}${tlsErrorHint(cause)}`;
      throw new ResultBackendError(
        `could not connect to the Redis result backend at ${this.endpoint.display} (${why}); check the URL and that Redis is running`,
      );
    }
    await refuseRedisCluster(this.commands.client, 'result backend').catch((err: Error) => {
      this.commands.client.disconnect();
      throw err;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // results stored this turn go out ahead of the connection's QUIT
    this.stores.flush();
    await this.subscriber.close();
    await this.commands.close();
    this.status.next('closed');
    this.status.complete();
  }

  /**
   * Store a task's state. A worker finishes many tasks in one turn of the event loop; their
   * results are written together at the end of the turn (setImmediate), with one script call
   * per up to 128 results (or 4 MB), instead of one command each: that takes most of the per-result cost
   * off both the worker and Redis. Every store still resolves or fails on its own.
   */
  async store(meta: ResultMeta, target?: StoreTarget): Promise<void> {
    const taskId = target?.taskId ?? meta.task_id;
    const value = dumps(meta);
    const size = value.length * 3 > MAX_VALUE_BYTES ? Buffer.byteLength(value) : value.length;
    if (size > MAX_VALUE_BYTES) {
      throw new BackendStoreError(`result of task ${taskId} is ${size} bytes, over Redis' 512 MB value limit; return a smaller value`, taskId);
    }
    const key = this.keyFor(taskId);
    const outcome = await this.stores.add({ key, value });
    if (outcome === 0) this.logger.debug?.(`task ${taskId} already has SUCCESS stored; ${meta.status} not written (SUCCESS is final)`);
    else if (outcome !== 1)
      throw new BackendStoreError(`cannot store the result of task ${taskId}: ${key} in redis holds a value that is not a string`, taskId);
  }

  onTaskCall(taskId: string): Promise<void> {
    if (this.closed) return Promise.reject(new BackendClosedError(`redis result backend is closed; cannot subscribe to task ${taskId}`, taskId));
    return this.subscriber.subscribe(taskId);
  }

  watch(taskId: string): Observable<ResultMeta> {
    return this.subscriber.watch(taskId);
  }

  async get(taskId: string): Promise<ResultMeta | undefined> {
    const raw = await this.commands.client.get(this.keyFor(taskId));
    return raw === null ? undefined : this.decode(raw, taskId);
  }

  async forget(taskId: string): Promise<void> {
    this.subscriber.forget(taskId);
    await this.commands.client.del(this.keyFor(taskId));
  }

  /** Result keys this backend is subscribed to right now. */
  get subscriptionCount(): number {
    return this.subscriber.subscriptionCount;
  }

  private storeBatch(batch: PendingStore[]): Promise<number[]> {
    const args: (string | number)[] = [batch.length];
    for (const entry of batch) args.push(entry.key);
    for (const entry of batch) args.push(entry.value);
    args.push(String(this.expires ?? 0));
    return (this.commands.client as ScriptedRedis).celeryStoreResults(...args);
  }

  private decode(raw: string, taskId: string): ResultMeta | undefined {
    try {
      const meta = loads(raw) as ResultMeta;
      if (meta && typeof meta === 'object' && typeof meta.status === 'string') return meta;
      this.logger.warn(`result of task ${taskId} in redis is not a Celery result document (no status); ignored`);
    } catch (err) {
      this.logger.warn(`result of task ${taskId} in redis is not valid JSON (${(err as Error).message}); ignored`);
    }
    return undefined;
  }

  private track(connection: RedisConnection): RedisConnection {
    this.connections.push(connection);
    connection.status.subscribe(() => {
      if (!this.closed) this.status.next(combineStatus(this.connections.map((c) => c.status.value)));
    });
    return connection;
  }
}
