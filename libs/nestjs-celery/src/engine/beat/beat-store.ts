// The beat's shared state on Redis: the leader lock (with a fencing number) and each entry's last run.
/**
 * One beat leads at a time: it holds `<key>:lock` (SET NX PX, renewed while it lives) and got a
 * fencing number (`<key>:fence`, INCR) when it took it. Every write of the last-run state
 * (`<key>:state`, a hash by entry name) checks in one script that the writer still holds the
 * lock and that no later leader wrote the entry, so a beat that lost the lock (paused, cut off)
 * can no longer claim a run. A leader that dies stops renewing: its lock expires and another
 * beat takes it.
 */
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';

/** What is stored per entry. */
export interface EntryState {
  /** last run (ms), or when the entry was first seen when `ran` is false */
  last: number;
  ran: boolean;
  /** the task id of the last run */
  id?: string;
  /** false between claiming a run and the broker confirming its message */
  sent?: boolean;
  /** the fencing number of the leader that wrote it */
  fence: number;
}

const ACQUIRE = `if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return redis.call('incr', KEYS[2]) end return 0`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;
// fenced write: the lock is ours, and the entry was not written by a later leader
const WRITE = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
local old = redis.call('hget', KEYS[2], ARGV[2])
if old and cjson.decode(old).fence > tonumber(ARGV[4]) then return 0 end
redis.call('hset', KEYS[2], ARGV[2], ARGV[3]) return 1`;

export class BeatStore {
  private readonly token = randomUUID();
  private readonly lockKey: string;
  private readonly fenceKey: string;
  private readonly stateKey: string;
  /** the fencing number of our current lead; 0 when following */
  fence = 0;

  constructor(
    private readonly redis: Redis,
    key: string,
    private readonly lockTimeoutMs: number,
  ) {
    this.lockKey = `${key}:lock`;
    this.fenceKey = `${key}:fence`;
    this.stateKey = `${key}:state`;
  }

  /** Take the lock if nobody holds it: true when we lead from now on. */
  async acquire(): Promise<boolean> {
    const fence = Number(await this.redis.eval(ACQUIRE, 2, this.lockKey, this.fenceKey, this.token, this.lockTimeoutMs));
    if (fence > 0) this.fence = fence;
    return fence > 0;
  }

  /** Extend our lock; false when it is no longer ours (then we follow). */
  async renew(): Promise<boolean> {
    const ok = Number(await this.redis.eval(RENEW, 1, this.lockKey, this.token, this.lockTimeoutMs)) === 1;
    if (!ok) this.fence = 0;
    return ok;
  }

  async release(): Promise<void> {
    this.fence = 0;
    await this.redis.eval(RELEASE, 1, this.lockKey, this.token);
  }

  async load(): Promise<Map<string, EntryState>> {
    const all = await this.redis.hgetall(this.stateKey);
    return new Map(Object.entries(all).map(([name, json]) => [name, JSON.parse(json) as EntryState]));
  }

  /** Write an entry's state under our lock and fence; false when we no longer lead. */
  async write(name: string, state: Omit<EntryState, 'fence'>): Promise<boolean> {
    if (!this.fence) return false;
    const json = JSON.stringify({ ...state, fence: this.fence });
    return Number(await this.redis.eval(WRITE, 2, this.lockKey, this.stateKey, this.token, name, json, this.fence)) === 1;
  }
}
