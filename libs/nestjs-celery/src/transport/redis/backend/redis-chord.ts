/**
 * Celery's native chords on the Redis result backend (celery/backends/redis.py `set_chord_size`,
 * `on_chord_part_return`), key for key, so Python and Nest workers can share one chord:
 *
 * - `celery-taskset-meta-<gid>.s`: the header size, written like a result (SETEX + PUBLISH);
 * - `celery-taskset-meta-<gid>.j`: a sorted set of `json([1, tid, state, result])`, scored by
 *   group_index (`+inf` without one), so the body receives results in header order;
 * - `celery-taskset-meta-<gid>.t`: the `add_to_chord` counter, added to the size.
 *
 * The chord is complete when ZCOUNT(.j) == .s + .t. Celery 5.2's default
 * `result_chord_ordered=True` (a ZSET) is the only layout supported: a fleet mixing it with the
 * list layout gets WRONGTYPE errors from Redis anyway.
 */
import type { Redis } from 'ioredis';
import { dumps, loads } from '../../../protocol/json.js';
import type { ChordPart, NativeChordSupport } from '../../result-backend.interface.js';

/**
 * Celery runs ZADD, ZCOUNT, GET .t, GET .s and the EXPIREs in one MULTI, then ZRANGE when the
 * count is reached. One script does both, so exactly one finishing part sees the chord complete.
 * KEYS: .j .t .s; ARGV: member, score, expires seconds (0 = none).
 */
const ON_PART_RETURN_LUA = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local count = redis.call('ZCOUNT', KEYS[1], '-inf', '+inf')
local added = redis.call('GET', KEYS[2])
local size = redis.call('GET', KEYS[3])
local ttl = tonumber(ARGV[3])
if ttl and ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
end
if not size then return false end
if count ~= tonumber(size) + (tonumber(added) or 0) then return false end
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

type ScriptedRedis = Redis & { celeryChordPartReturn(j: string, t: string, s: string, member: string, score: string, ttl: string): Promise<string[] | null> };

export interface RedisChordOptions {
  /** result_expires in seconds; null = the keys never expire */
  expiresSeconds: number | null;
  /** default 'celery-taskset-meta-' (celery/backends/base.py group_keyprefix) */
  keyPrefix?: string;
}

export class RedisChordSupport implements NativeChordSupport {
  private readonly keyPrefix: string;

  constructor(
    private readonly client: Redis,
    private readonly options: RedisChordOptions,
  ) {
    this.keyPrefix = options.keyPrefix ?? 'celery-taskset-meta-';
    client.defineCommand('celeryChordPartReturn', { numberOfKeys: 3, lua: ON_PART_RETURN_LUA });
  }

  /** `celery-taskset-meta-<gid><suffix>` (Celery's get_key_for_group). */
  key(groupId: string, suffix: '.j' | '.t' | '.s'): string {
    return `${this.keyPrefix}${groupId}${suffix}`;
  }

  async setSize(groupId: string, size: number): Promise<void> {
    const key = this.key(groupId, '.s');
    const value = String(size);
    const multi = this.client.multi();
    if (this.options.expiresSeconds) multi.setex(key, this.options.expiresSeconds, value);
    else multi.set(key, value);
    // Celery writes the size through its result `set`, which publishes too
    multi.publish(key, value);
    await multi.exec();
  }

  async onPartReturn(groupId: string, groupIndex: number | null, part: ChordPart): Promise<ChordPart[] | null> {
    const member = dumps([1, part.taskId, part.state, part.result]);
    const score = groupIndex === null ? '+inf' : String(groupIndex);
    const entries = await (this.client as ScriptedRedis).celeryChordPartReturn(
      this.key(groupId, '.j'),
      this.key(groupId, '.t'),
      this.key(groupId, '.s'),
      member,
      score,
      String(this.options.expiresSeconds ?? 0),
    );
    if (!entries) return null;
    return entries.map((raw) => {
      const [, taskId, state, result] = loads(raw) as [number, string, string, unknown];
      return { taskId, state, result };
    });
  }

  async forget(groupId: string): Promise<void> {
    await this.client.del(this.key(groupId, '.j'), this.key(groupId, '.t'), this.key(groupId, '.s'));
  }
}
