// RedisResultSubscriber: the Redis backend's one pub/sub connection on which clients wait for results,
// with a GET to close the gap between a stored state and the subscription.
import type { Redis } from 'ioredis';
import { Observable, type Subscriber } from 'rxjs';
import type { CeleryLogger } from '../../../common/logger.js';
import type { ResultMeta } from '../../../protocol/result-meta.js';
import { isReady } from '../../../protocol/states.js';
import { RedisConnection } from '../redis-connection.js';
import type { RedisEndpoint } from '../redis-url.js';
import { TickBatcher } from '../../result-backend.batcher.js';
import { BackendClosedError, ResultSubscribeError } from '../../result-backend.errors.js';

interface Watcher {
  subscriber: Subscriber<ResultMeta>;
  /** the last document this watcher was given (a state seen by GET and by PUBLISH is delivered once) */
  lastRaw?: string;
}

/** One subscribed result key (`celery-task-meta-<id>`) and everyone waiting on it. */
interface Entry {
  key: string;
  taskId: string;
  watchers: Set<Watcher>;
  /** settles when Redis confirmed the SUBSCRIBE (renewed after a reconnect) */
  subscribed: Promise<void>;
  /** the current stored document is known: from a GET, or from any message since subscribing */
  synced: boolean;
  latestRaw?: string;
  latest?: ResultMeta;
  /** set while a GET is in flight: messages that arrive meanwhile, in server order */
  buffer?: string[];
  syncGeneration: number;
  createdAt: number;
}

export interface RedisResultSubscriberOptions {
  endpoint: RedisEndpoint;
  connectionName: string;
  logger: CeleryLogger;
  keyFor(taskId: string): string;
  decode(raw: string, taskId: string): ResultMeta | undefined;
  /** the command connection, for GET/MGET (a subscribed connection cannot run them) */
  commands: Redis;
  onConnection(connection: RedisConnection): void;
}

/**
 * An `on_task_call`-only subscription that nobody watched is dropped after this long: Celery
 * keeps it until a ready state arrives, but a later watch() re-subscribes and GETs anyway, so
 * dropping only costs a round trip while keeping fire-and-forget callers from leaking channels.
 */
const UNWATCHED_SUBSCRIPTION_MS = 10 * 60_000;

/**
 * Ready documents kept for a watch() that comes after them (Celery's `ResultConsumer._pending_messages`,
 * a BufferMap of MESSAGE_BUFFER_MAX = 8192): a result often arrives on the on_task_call subscription
 * while its sender still waits for the publish confirm, and get() then takes it from here instead of
 * subscribing and GETting again. Oldest dropped first; a dropped one costs only that round trip.
 */
const PENDING_MESSAGES_MAX = 8192;

/**
 * The Redis backend's pub/sub side (Celery's ResultConsumer in celery/backends/redis.py): ONE
 * subscriber connection for every awaited task, SUBSCRIBE per result key (batched per tick),
 * GET after subscribing to catch results stored earlier, MGET after a reconnect.
 */
export class RedisResultSubscriber {
  private readonly entries = new Map<string, Entry>();
  /** ready documents that arrived before anyone watched their task, by key, oldest first */
  private readonly pendingMessages = new Map<string, ResultMeta>();
  private connection?: RedisConnection;
  private readonly subscribes = new TickBatcher<string, void>((keys) => this.sub.subscribe(...keys).then(() => keys.map(() => undefined)));
  private readonly unsubscribes = new TickBatcher<string, void>((keys) => this.unsubscribe(keys));
  private readonly gets = new TickBatcher<string, string | null>((keys) => this.options.commands.mget(...keys));
  private readonly sweeper: NodeJS.Timeout;
  private everReady = false;
  private closed = false;

  constructor(private readonly options: RedisResultSubscriberOptions) {
    this.sweeper = setInterval(() => this.sweepUnwatched(), 60_000);
    this.sweeper.unref();
  }

  /** Subscribed result keys right now (for diagnostics and tests). */
  get subscriptionCount(): number {
    return this.entries.size;
  }

  /** Celery's on_task_call: resolves once the SUBSCRIBE is confirmed. */
  subscribe(taskId: string): Promise<void> {
    return this.acquire(taskId).subscribed;
  }

  watch(taskId: string): Observable<ResultMeta> {
    return new Observable<ResultMeta>((subscriber) => {
      if (this.closed) {
        subscriber.error(new BackendClosedError(`redis result backend is closed; cannot watch task ${taskId}`, taskId));
        return;
      }
      const key = this.options.keyFor(taskId);
      const early = this.pendingMessages.get(key);
      if (early) {
        this.pendingMessages.delete(key);
        subscriber.next(early);
        subscriber.complete();
        return;
      }
      const entry = this.acquire(taskId, key);
      const watcher: Watcher = { subscriber };
      entry.watchers.add(watcher);
      if (entry.synced && !entry.buffer) {
        if (entry.latest) this.deliver(watcher, entry.latestRaw!, entry.latest);
      } else {
        this.sync(entry);
      }
      return () => {
        entry.watchers.delete(watcher);
        if (entry.watchers.size === 0) this.release(entry);
      };
    });
  }

  /** Drop an unwatched subscription (AsyncResult.forget cancels it in Celery too). */
  forget(taskId: string): void {
    const key = this.options.keyFor(taskId);
    this.pendingMessages.delete(key);
    const entry = this.entries.get(key);
    if (entry && entry.watchers.size === 0) this.release(entry);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.pendingMessages.clear();
    const error = (taskId: string) => new BackendClosedError(`redis result backend closed while waiting for task ${taskId}`, taskId);
    for (const entry of [...this.entries.values()]) {
      this.entries.delete(entry.key);
      for (const w of [...entry.watchers]) w.subscriber.error(error(entry.taskId));
    }
    this.subscribes.rejectAll(new BackendClosedError('redis result backend closed'));
    this.gets.rejectAll(new BackendClosedError('redis result backend closed'));
    await this.connection?.close();
  }

  private get sub(): Redis {
    if (!this.connection) {
      // our own re-subscribe (below) awaits confirmation before the MGET; ioredis' would not tell us
      const c = new RedisConnection(this.options.endpoint, {
        connectionName: this.options.connectionName,
        role: 'result subscriber',
        logger: this.options.logger,
        redisOptions: { autoResubscribe: false },
      });
      c.client.on('message', (channel: string, raw: string) => this.onMessage(channel, raw));
      c.client.on('ready', () => this.onReady());
      this.connection = c;
      this.options.onConnection(c);
    }
    return this.connection.client;
  }

  private acquire(taskId: string, key = this.options.keyFor(taskId)): Entry {
    let entry = this.entries.get(key);
    if (!entry) {
      this.pendingMessages.delete(key); // the task id is sent again: its earlier outcome is not this one's
      entry = { key, taskId, watchers: new Set(), subscribed: Promise.resolve(), synced: false, syncGeneration: 0, createdAt: Date.now() };
      this.entries.set(key, entry);
      this.subscribeEntry(entry);
    }
    return entry;
  }

  private subscribeEntry(entry: Entry): void {
    const subscribed = this.subscribes.add(entry.key).catch((err: unknown) => {
      const error = new ResultSubscribeError(
        `could not SUBSCRIBE to ${entry.key}: ${(err as Error)?.message ?? err}; check that Redis is reachable, then call again`,
        entry.taskId,
      );
      if (entry.subscribed === subscribed) this.fail(entry, error);
      throw error;
    });
    subscribed.catch(() => {}); // the failure reaches callers through fail() / their own await
    entry.subscribed = subscribed;
  }

  /** GET the stored document once subscribed; messages arriving meanwhile are held in order. */
  private sync(entry: Entry): void {
    if (entry.buffer) return;
    entry.buffer = [];
    const generation = ++entry.syncGeneration;
    entry.subscribed
      .then(() => this.gets.add(entry.key))
      .then(
        (raw) => this.resolveSync(entry, generation, raw),
        (err: unknown) => {
          if (entry.syncGeneration !== generation || this.entries.get(entry.key) !== entry) return;
          this.fail(
            entry,
            err instanceof ResultSubscribeError ? err : new ResultSubscribeError(`could not GET ${entry.key}: ${(err as Error)?.message ?? err}`, entry.taskId),
          );
        },
      );
  }

  private resolveSync(entry: Entry, generation: number, raw: string | null): void {
    if (entry.syncGeneration !== generation || this.entries.get(entry.key) !== entry) return;
    const buffered = entry.buffer ?? [];
    entry.buffer = undefined;
    entry.synced = true;
    // SETEX and PUBLISH run in one MULTI, so a message equal to the GET value marks where the
    // GET happened: what came before it is older, what came after it is newer
    let newer = buffered;
    if (raw !== null) {
      const at = buffered.lastIndexOf(raw);
      if (at >= 0) newer = buffered.slice(at + 1);
      this.apply(entry, raw);
    }
    for (const r of newer) {
      if (this.entries.get(entry.key) !== entry) break; // completed by a ready state
      this.apply(entry, r);
    }
  }

  private onMessage(channel: string, raw: string): void {
    const entry = this.entries.get(channel);
    if (!entry) return; // late message for a key we already let go
    if (entry.buffer) entry.buffer.push(raw);
    else this.apply(entry, raw);
  }

  private apply(entry: Entry, raw: string): void {
    const meta = this.options.decode(raw, entry.taskId);
    if (!meta) return;
    entry.latestRaw = raw;
    entry.latest = meta;
    entry.synced = true;
    const watchers = [...entry.watchers];
    for (const w of watchers) this.deliver(w, raw, meta);
    if (isReady(meta.status)) {
      if (watchers.length === 0) this.keepPending(entry.key, meta);
      this.release(entry); // Celery cancels the subscription on a ready state too
      for (const w of watchers) w.subscriber.complete();
    }
  }

  private keepPending(key: string, meta: ResultMeta): void {
    this.pendingMessages.delete(key);
    this.pendingMessages.set(key, meta);
    if (this.pendingMessages.size > PENDING_MESSAGES_MAX) this.pendingMessages.delete(this.pendingMessages.keys().next().value!);
  }

  private deliver(watcher: Watcher, raw: string, meta: ResultMeta): void {
    if (watcher.lastRaw === raw) return;
    watcher.lastRaw = raw;
    watcher.subscriber.next(meta);
    if (isReady(meta.status)) watcher.subscriber.complete();
  }

  private release(entry: Entry): void {
    if (this.entries.get(entry.key) !== entry) return;
    this.entries.delete(entry.key);
    entry.syncGeneration++;
    if (!this.closed && this.connection) this.unsubscribes.add(entry.key).catch((err: unknown) => this.logUnsubscribeError(err));
  }

  private fail(entry: Entry, error: Error): void {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    for (const w of [...entry.watchers]) w.subscriber.error(error);
  }

  private unsubscribe(keys: string[]): Promise<void[]> {
    // a key watched again since it was released stays subscribed
    const gone = keys.filter((k) => !this.entries.has(k));
    const done = keys.map(() => undefined);
    return gone.length ? this.sub.unsubscribe(...gone).then(() => done) : Promise.resolve(done);
  }

  private logUnsubscribeError(err: unknown): void {
    if (!this.closed) this.options.logger.debug?.(`redis result backend: UNSUBSCRIBE failed (${(err as Error)?.message ?? err})`);
  }

  /** After a reconnect the server forgot our channels: subscribe them all again, then MGET them. */
  private onReady(): void {
    if (!this.everReady) {
      this.everReady = true;
      return;
    }
    for (const entry of this.entries.values()) {
      this.subscribeEntry(entry);
      entry.synced = false;
      entry.buffer = undefined;
      this.sync(entry);
    }
  }

  private sweepUnwatched(): void {
    const limit = Date.now() - UNWATCHED_SUBSCRIPTION_MS;
    for (const entry of [...this.entries.values()]) {
      if (entry.watchers.size === 0 && !entry.buffer && entry.createdAt < limit) this.release(entry);
    }
  }
}
