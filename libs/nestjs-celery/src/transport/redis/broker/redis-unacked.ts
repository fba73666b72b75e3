/**
 * kombu's ack emulation on Redis (kombu/transport/redis.py `QoS`): every delivery not yet acked
 * sits in the DB-wide `unacked` hash and `unacked_index` sorted set, so any kombu process —
 * Python or ours — can put back the messages of a consumer that died (`restore_visible`).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CeleryLogger } from '../../../common/logger.js';
import { decodeUnackedEntry, encodeUnackedEntry, redeliveredEnvelope } from '../../../protocol/kombu-envelope.js';
import type { KombuKeys } from './redis-keys.js';
import type { KombuRouter } from './redis-router.js';
import type { KombuScripts } from './redis-scripts.js';
import { TickBatcher } from '../../result-backend.batcher.js';

/** Most tags one ZREM/HDEL of a batch of acks carries. */
const MAX_ACKS_PER_CALL = 1000;

/** kombu `unacked_mutex_expire`: 5 minutes. */
const MUTEX_EXPIRE_MS = 300_000;

export interface AckEmulationOptions {
  /** kombu `visibility_timeout` in seconds (default 3600) */
  visibilityTimeoutSeconds: number;
  /** restore into the message's priority list instead of the bare queue key (kombu: bare key) */
  priorityRestore: boolean;
}

export class KombuAckEmulation {
  /** tags whose unacked entry cannot be restored; logged once, left in place for a human */
  private readonly unrestorable = new Set<string>();
  /** acks of this turn, sent together at its end as one ZREM and one HDEL */
  private readonly acks = new TickBatcher<string, void>(
    (tags) =>
      this.client
        .pipeline()
        .zrem(this.keys.unackedIndex, ...tags)
        .hdel(this.keys.unacked, ...tags)
        .exec()
        .then(throwPipelineError)
        .then(() => tags.map(() => undefined)),
    MAX_ACKS_PER_CALL,
  );

  constructor(
    private readonly client: Redis,
    private readonly keys: KombuKeys,
    private readonly scripts: KombuScripts,
    private readonly router: KombuRouter,
    private readonly options: AckEmulationOptions,
    private readonly logger: CeleryLogger,
  ) {}

  /** kombu `QoS.append`: one pipeline, ZADD then HSET. Used when the atomic pop could not record. */
  async record(tag: string, rawEnvelope: string, exchange: string, routingKey: string): Promise<void> {
    await this.client
      .pipeline()
      .zadd(this.keys.unackedIndex, Date.now() / 1000, tag)
      .hset(this.keys.unacked, tag, encodeUnackedEntry(rawEnvelope, exchange, routingKey))
      .exec()
      .then(throwPipelineError);
  }

  /**
   * kombu `QoS.ack`: ZREM + HDEL. The acks of one turn of the event loop go out together, as
   * one ZREM and one HDEL over all their tags (setImmediate): a worker settles many deliveries
   * per turn, and a pipeline per ack was a large share of its cost. Each ack resolves once its
   * batch is applied.
   */
  ack(tag: string): Promise<void> {
    return this.acks.add(tag);
  }

  /** Bring the unacked_index score of deliveries still held to now (ZADD XX: acked ones stay gone). */
  async touch(tags: string[]): Promise<void> {
    if (tags.length === 0) return;
    const now = Date.now() / 1000;
    await this.client.zadd(this.keys.unackedIndex, 'XX', ...tags.flatMap((tag) => [now, tag]));
  }

  /**
   * kombu `restore_by_tag`: put the message back where it was routed, marked redelivered, and
   * drop its unacked entry, atomically. `leftmost` (reject with requeue) LPUSHes to the far end.
   * Returns true when this call restored it (false: someone acked or restored it first).
   */
  async restoreByTag(tag: string, leftmost = false): Promise<boolean> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.client.hget(this.keys.unacked, tag);
      if (current === null) {
        await this.client.zrem(this.keys.unackedIndex, tag);
        return false;
      }
      const targets = await this.targetsOf(tag, current);
      if (!targets) return false;
      const { keys, envelope } = targets;
      const done = await this.scripts.restoreByTag(this.keys.unacked, this.keys.unackedIndex, keys, tag, current, envelope, leftmost);
      if (done !== -1) return done === 1;
    }
    return false;
  }

  /**
   * kombu `restore_visible`: under the shared `unacked_mutex` (taken the way redis-py's Lock
   * does: SET NX PX with a random token), restore every delivery older than the visibility
   * timeout. Returns how many messages were restored; 0 when another process holds the mutex.
   */
  async restoreVisible(): Promise<number> {
    const token = randomBytes(16).toString('hex');
    const locked = await this.client.set(this.keys.unackedMutex, token, 'PX', MUTEX_EXPIRE_MS, 'NX');
    if (locked !== 'OK') return 0;
    let restored = 0;
    try {
      const ceil = Date.now() / 1000 - this.options.visibilityTimeoutSeconds;
      const tags = await this.client.zrevrangebyscore(this.keys.unackedIndex, ceil, 0);
      for (const tag of tags) {
        if (await this.restoreByTag(tag)) restored++;
      }
    } finally {
      await this.scripts.releaseLock(this.keys.unackedMutex, token);
    }
    if (restored) this.logger.log(`restored ${restored} unacknowledged message(s) older than the visibility timeout`);
    return restored;
  }

  /** Where a restored message goes (kombu `_do_restore_message`), and the envelope it gets. */
  private async targetsOf(tag: string, current: string): Promise<{ keys: string[]; envelope: string } | undefined> {
    let entry;
    try {
      entry = decodeUnackedEntry(current);
    } catch (err) {
      this.warnOnce(tag, `cannot restore unacked message ${tag}: ${(err as Error).message}; left in "${this.keys.unacked}"`);
      return undefined;
    }
    const queues = await this.router.lookup(entry.exchange, entry.routingKey);
    if (queues.length === 0) {
      // kombu would drop it here; keeping it lets a later binding (or a human) recover it
      this.warnOnce(
        tag,
        `cannot restore unacked message ${tag}: no queue is bound to exchange "${entry.exchange}" with routing key ` +
          `"${entry.routingKey}"; declare the queue and its binding, the message stays in "${this.keys.unacked}"`,
      );
      return undefined;
    }
    const properties = entry.envelope.properties as Record<string, unknown> | undefined;
    const priority = this.options.priorityRestore ? properties?.priority : 0;
    return { keys: queues.map((q) => this.keys.queue(q, priority)), envelope: redeliveredEnvelope(entry.envelope) };
  }

  private warnOnce(tag: string, message: string): void {
    if (this.unrestorable.has(tag)) return;
    this.unrestorable.add(tag);
    this.logger.warn(message);
  }
}

function throwPipelineError(results: [Error | null, unknown][] | null): void {
  for (const [err] of results ?? []) if (err) throw err;
}
