// Beat: sends each periodic task when due, from one leader among any number of replicas.
/**
 * Any number of beats (embedded in workers, `-B` style, or on their own) share a schedule; the
 * one holding the Redis lock (beat-store.ts) sends, the others wait to take over when its lock
 * expires. A run is claimed (its time and task id stored, fenced) before its message is sent
 * and marked sent once the broker confirmed it; a run claimed but not confirmed (the send
 * failed, or the leader died in between) is sent again, with the same task id, by the leader's
 * next tick or the next leader. What is
 * sent is an ordinary Celery task message, for any worker, Python's included.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CeleryLogger } from '../../common/logger.js';
import { configureLogger } from '../../common/log-settings.js';
import { loadDriver } from '../../transport/driver-loader.js';
import type { Celery, SendTaskOptions } from '../celery.js';
import { BeatStore, type EntryState } from './beat-store.js';
import { nextRunOf, ScheduleError, type BeatEntry, type NextRun } from './schedules.js';

/** How a beat is set up: its schedule (Celery's `beat_schedule`) and where replicas share their lock and last runs. */
export interface BeatOptions {
  /** the entries by name, as Celery's `beat_schedule` */
  schedule: Record<string, BeatEntry>;
  /** Redis URL of the lock and the last-run state; default the app's broker, else its result backend, when Redis */
  redisUrl?: string;
  /** key prefix of the lock and state (one per schedule shared by replicas), default 'nestjs-celery:beat' */
  key?: string;
  /** a leader's lock lasts this long without renewal: a dead leader is replaced within it (default 10 s) */
  lockTimeoutMs?: number;
  logger?: CeleryLogger;
}

interface Entry extends BeatEntry {
  name: string;
  nextRun: NextRun;
}

/**
 * Celery beat for a Nest or plain-TypeScript app: sends each entry of the schedule when due, as an ordinary
 * task message, from the one replica that holds the leader lock in Redis.
 */
export class Beat {
  private readonly logger: CeleryLogger;
  private readonly entries: Entry[];
  private readonly lockTimeoutMs: number;
  private redis?: Redis;
  private store?: BeatStore;
  private state = new Map<string, EntryState>();
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopped = false;

  constructor(
    readonly app: Celery,
    readonly options: BeatOptions,
  ) {
    this.logger = configureLogger(options.logger, 'Beat', app.options);
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    if (!(this.lockTimeoutMs >= 300)) throw new RangeError(`lockTimeoutMs must be ≥ 300 ms, got ${options.lockTimeoutMs}`);
    this.entries = Object.entries(options.schedule).map(([name, entry]) => {
      if (typeof entry?.task !== 'string' || !entry.task) throw new ScheduleError(`beat entry '${name}': task must be a task name`);
      return { ...entry, name, nextRun: nextRunOf(name, entry.schedule) };
    });
  }

  /** Whether this beat leads (sends) now. */
  get leading(): boolean {
    return !!this.store?.fence;
  }

  /** The stored state of an entry as this beat last saw it. */
  entryState(name: string): EntryState | undefined {
    return this.state.get(name);
  }

  private redisUrl(): string {
    const { redisUrl } = this.options;
    if (redisUrl) return redisUrl;
    const { broker, backend } = this.app.options;
    const candidates = [Array.isArray(broker) ? broker[0] : broker, backend].filter((u): u is string => typeof u === 'string' && /^rediss?:/.test(u));
    if (!candidates.length) throw new Error('beat needs Redis for its lock and last-run state: set redisUrl (the broker and result backend are not Redis)');
    return candidates[0];
  }

  /** Connect to Redis and the broker, then contend for the lock and send what is due while leader. */
  async start(): Promise<void> {
    const { parseRedisUrl } = await import('../../transport/redis/redis-url.js'); // the Redis family's code, only for a beat
    const endpoint = parseRedisUrl(this.redisUrl());
    this.redis = new (loadDriver('ioredis').Redis)({ ...endpoint.options, connectionName: 'nestjs-celery beat', lazyConnect: true });
    this.redis.on('error', (error: Error) => this.logger.warn(`beat Redis connection: ${error.message}`));
    await this.redis.connect();
    this.store = new BeatStore(this.redis, this.options.key ?? 'nestjs-celery:beat', this.lockTimeoutMs);
    await this.app.connect('producer');
    this.logger.log(
      `beat: ${this.entries.length} entr${this.entries.length === 1 ? 'y' : 'ies'}: ${this.entries.map((e) => `${e.name} → ${e.task}`).join(', ')}`,
    );
    this.schedule(0);
  }

  /** Stop sending; the lock is released so another beat takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    if (this.store?.fence) await this.store.release().catch(() => undefined);
    this.redis?.disconnect();
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((error: unknown) => this.logger.error(`beat: ${(error as Error)?.message ?? error}`))
        .then((wait) => this.schedule(wait ?? this.lockTimeoutMs / 3));
    }, delay);
  }

  /** Lead or follow; as leader send what is due. Resolves with how long to wait before the next tick. */
  private async tick(): Promise<number> {
    const store = this.store!;
    const beat = this.lockTimeoutMs / 3;
    if (!store.fence) {
      if (!(await store.acquire())) return beat;
      this.logger.log(`beat: leading now (fence ${store.fence})`);
      this.state = await store.load();
    } else if (!(await store.renew())) {
      this.logger.warn('beat: lost the leader lock to another beat; following');
      return beat;
    }
    await this.resendUnconfirmed();
    let wait = beat;
    for (const entry of this.entries) {
      if (!store.fence) break;
      const next = await this.runIfDue(entry);
      if (next !== null) wait = Math.min(wait, Math.max(0, next - Date.now()));
    }
    return wait;
  }

  /** Send the entry if due; returns when it is next due (null: never). */
  private async runIfDue(entry: Entry): Promise<number | null> {
    const store = this.store!;
    const now = Date.now();
    let state = this.state.get(entry.name);
    if (!state) {
      // first seen: counts as the last run (Celery's default last_run_at)
      state = { last: now, ran: false, fence: store.fence };
      if (!(await this.write(entry.name, state))) return null;
    }
    const due = state.ran && 'at' in entry.schedule ? null : entry.nextRun(state.last);
    if (due === null || due > now) return due;
    // due (once, however many runs were missed): claim it, send it, confirm it
    const id = randomUUID();
    if (!(await this.write(entry.name, { last: now, ran: true, id, sent: false }))) return null;
    await this.send(entry, id);
    return entry.nextRun(now);
  }

  private async send(entry: Entry, id: string): Promise<void> {
    await this.app.sendTask(entry.task, entry.args ?? [], entry.kwargs ?? {}, { ...(entry.options as SendTaskOptions), taskId: id });
    this.logger.log(`Scheduler: Sending due task ${entry.name} (${entry.task}) [${id}]`);
    await this.write(entry.name, { ...this.state.get(entry.name)!, sent: true });
  }

  /** Runs claimed and not confirmed sent (the send failed, or the previous leader died in between): sent again, same task id. */
  private async resendUnconfirmed(): Promise<void> {
    for (const entry of this.entries) {
      const state = this.state.get(entry.name);
      if (!state?.ran || state.sent !== false || !state.id) continue;
      this.logger.warn(`beat: run ${state.id} of ${entry.name} was claimed and not confirmed sent: sending it again`);
      await this.send(entry, state.id);
    }
  }

  private async write(name: string, state: Omit<EntryState, 'fence'>): Promise<boolean> {
    const ok = await this.store!.write(name, state);
    if (ok) this.state.set(name, { ...state, fence: this.store!.fence });
    else if (this.store!.fence) {
      this.store!.fence = 0;
      this.logger.warn('beat: a later leader owns the schedule; following');
    }
    return ok;
  }
}
