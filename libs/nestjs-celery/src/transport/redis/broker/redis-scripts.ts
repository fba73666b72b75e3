/**
 * Lua scripts that do atomically what kombu's Redis transport does in several round trips,
 * while leaving the same data behind (kombu/transport/redis.py `QoS`, `_brpop_read`).
 */
import type { Redis } from 'ioredis';

/**
 * Pop up to ARGV[1] messages and, when ARGV[2] == '1', record each in kombu's ack emulation
 * (ZADD unacked_index {tag: now}, HSET unacked tag [envelope, exchange, routing_key]) in the same
 * atomic step, so a crash can never lose a popped message.
 *
 * KEYS: unacked, unacked_index, then the list keys priority-major (step 0 of every queue, step 3
 * of every queue, …) for ARGV[3] queues and ARGV[4] steps, queues in kombu's round-robin order.
 * Each pop walks the keys in that order; the queue served moves to the end (kombu
 * `round_robin_cycle.rotate`). Returns a flat list: queue index (1-based), envelope, and the
 * delivery tag it was recorded under ('' when not recorded: envelopes without a string
 * delivery_tag or delivery_info are left to the caller).
 */
const POP_AND_RECORD = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local max, record = tonumber(ARGV[1]), ARGV[2] == '1'
local nq, ns = tonumber(ARGV[3]), tonumber(ARGV[4])
local order, empty, out = {}, {}, {}
for i = 1, nq do order[i] = i end
local score
if record then
  local t = redis.call('TIME')
  score = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
end
local function str(s)
  if not string.find(s, '[%c"\\\\\\128-\\255]') then return '"' .. s .. '"' end
  return cjson.encode(s)
end
for n = 1, max do
  local served
  for s = 0, ns - 1 do
    for oi = 1, nq do
      local qi = order[oi]
      local k = 2 + s * nq + qi
      if not empty[k] then
        local raw = redis.call('RPOP', KEYS[k])
        if raw then
          local recorded = ''
          if record then
            local ok, env = pcall(cjson.decode, raw)
            if ok and type(env) == 'table' and type(env.properties) == 'table' then
              local tag, info = env.properties.delivery_tag, env.properties.delivery_info
              if type(tag) == 'string' and type(info) == 'table'
                  and type(info.exchange) == 'string' and type(info.routing_key) == 'string' then
                redis.call('ZADD', KEYS[2], score, tag)
                redis.call('HSET', KEYS[1], tag, '[' .. raw .. ', ' .. str(info.exchange) .. ', ' .. str(info.routing_key) .. ']')
                recorded = tag
              end
            end
          end
          out[#out + 1] = tostring(qi)
          out[#out + 1] = raw
          out[#out + 1] = recorded
          served = oi
          break
        end
        empty[k] = true
      end
    end
    if served then
      local moved = table.remove(order, served)
      order[#order + 1] = moved
      break
    end
  end
  if not served then break end
end
return out
`;

/**
 * kombu `restore_by_tag` as one compare-and-set (kombu uses WATCH unacked / MULTI): if the
 * unacked entry for ARGV[1] is still ARGV[2], drop it from both indices and push ARGV[3] to every
 * KEYS[3..] (LPUSH when ARGV[4] == '1' — reject with requeue —, else RPUSH, the consuming end).
 * Returns 1 restored, 0 already gone (the index entry is cleaned), -1 changed meanwhile.
 */
const RESTORE_BY_TAG = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if cur ~= ARGV[2] then return -1 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
local push = ARGV[4] == '1' and 'LPUSH' or 'RPUSH'
for i = 3, #KEYS do redis.call(push, KEYS[i], ARGV[3]) end
return 1
`;

/** redis-py `Lock.release`: delete the mutex only if we still own it. */
const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface KombuScripts {
  popAndRecord(keys: string[], max: number, record: boolean, queues: number, steps: number): Promise<string[]>;
  restoreByTag(unacked: string, unackedIndex: string, targets: string[], tag: string, expected: string, envelope: string, leftmost: boolean): Promise<number>;
  releaseLock(key: string, token: string): Promise<number>;
}

type ScriptClient = Redis & {
  kombuPopAndRecord(numKeys: number, ...args: (string | number)[]): Promise<string[]>;
  kombuRestoreByTag(numKeys: number, ...args: string[]): Promise<number>;
  kombuReleaseLock(key: string, token: string): Promise<number>;
};

/** Register the scripts on a client (EVALSHA with EVAL fallback, handled by ioredis). */
export function kombuScripts(client: Redis): KombuScripts {
  client.defineCommand('kombuPopAndRecord', { lua: POP_AND_RECORD });
  client.defineCommand('kombuRestoreByTag', { lua: RESTORE_BY_TAG });
  client.defineCommand('kombuReleaseLock', { lua: RELEASE_LOCK, numberOfKeys: 1 });
  const c = client as ScriptClient;
  return {
    popAndRecord: (keys, max, record, queues, steps) => c.kombuPopAndRecord(keys.length, ...keys, max, record ? '1' : '0', queues, steps),
    restoreByTag: (unacked, unackedIndex, targets, tag, expected, envelope, leftmost) =>
      c.kombuRestoreByTag(2 + targets.length, unacked, unackedIndex, ...targets, tag, expected, envelope, leftmost ? '1' : '0'),
    releaseLock: (key, token) => c.kombuReleaseLock(key, token),
  };
}
