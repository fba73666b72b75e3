/**
 * The Redis key and channel names kombu 5.2.4's Redis transport uses, and its routing tables
 * (kombu/transport/redis.py `Channel`, kombu/transport/virtual/exchange.py). Pure.
 */
import type { ExchangeType } from '../../broker.interface.js';

/** kombu's separator between queue name and priority step, and inside binding members. */
export const KOMBU_SEP = '\x06\x16';
/** kombu PRIORITY_STEPS: a priority maps to the largest step ≤ it; step 0 is the bare queue key. */
export const PRIORITY_STEPS = [0, 3, 6, 9] as const;

/** One member of `_kombu.binding.<exchange>`: routing key, topic regex ('' otherwise), queue. */
export interface KombuBinding {
  routingKey: string;
  pattern: string;
  queue: string;
}

/** kombu `_get_message_priority`: clamp to 0..9, anything unreadable is 0. */
export function clampPriority(priority: unknown): number {
  const n = typeof priority === 'number' ? Math.trunc(priority) : Number.NaN;
  return Number.isFinite(n) ? Math.max(0, Math.min(9, n)) : 0;
}

/** kombu `Channel.priority`: the step a priority falls into. */
export function priorityStep(priority: unknown): number {
  const p = clampPriority(priority);
  let step = 0;
  for (const s of PRIORITY_STEPS) if (s <= p) step = s;
  return step;
}

/**
 * Key names with kombu's `global_keyprefix` applied (5.2.0+: keys; 5.2.4+: pub/sub channels too).
 * `db` is the Redis database number, part of fanout channel names ("/{db}.").
 */
export class KombuKeys {
  readonly unacked: string;
  readonly unackedIndex: string;
  readonly unackedMutex: string;

  constructor(
    readonly prefix: string,
    readonly db: number,
  ) {
    this.unacked = `${prefix}unacked`;
    this.unackedIndex = `${prefix}unacked_index`;
    this.unackedMutex = `${prefix}unacked_mutex`;
  }

  /** kombu `_q_for_pri`: the list a message of `priority` goes to. */
  queue(queue: string, priority: unknown = 0): string {
    const step = priorityStep(priority);
    return step ? `${this.prefix}${queue}${KOMBU_SEP}${step}` : `${this.prefix}${queue}`;
  }

  /** BRPOP keys for queues in consuming order: priority-major, like kombu `_brpop_start`. */
  brpopKeys(queues: readonly string[]): string[] {
    const keys: string[] = [];
    for (const step of PRIORITY_STEPS) for (const q of queues) keys.push(this.queue(q, step));
    return keys;
  }

  /** The queue a BRPOP reply key belongs to (kombu strips the prefix, then rsplits on the separator). */
  queueOfKey(key: string): string {
    const bare = key.startsWith(this.prefix) ? key.slice(this.prefix.length) : key;
    const at = bare.lastIndexOf(KOMBU_SEP);
    return at < 0 ? bare : bare.slice(0, at);
  }

  /** `_kombu.binding.<exchange>`, the set of bindings kombu keeps per exchange. */
  bindings(exchange: string): string {
    return `${this.prefix}_kombu.binding.${exchange}`;
  }

  /** kombu `_get_publish_topic`: "/{db}.<exchange>" plus "/<routing_key>" when one is given. */
  fanoutChannel(exchange: string, routingKey: string): string {
    const topic = routingKey ? `/${this.db}.${exchange}/${routingKey}` : `/${this.db}.${exchange}`;
    return `${this.prefix}${topic}`;
  }

  /** The PSUBSCRIBE pattern for a queue bound to a fanout exchange (kombu turns '#' into '*'). */
  fanoutPattern(exchange: string, bindingKey: string): string {
    return this.fanoutChannel(exchange, bindingKey.replace(/#/g, '*'));
  }

  /** The exchange a pub/sub message came from (kombu `_receive_one`). */
  exchangeOfChannel(channel: string): string {
    let topic = channel.startsWith(this.prefix) ? channel.slice(this.prefix.length) : channel;
    if (topic.startsWith('/')) {
      const dot = topic.indexOf('.');
      topic = dot < 0 ? '' : topic.slice(dot + 1);
    }
    const slash = topic.indexOf('/');
    return slash < 0 ? topic : topic.slice(0, slash);
  }
}

/** kombu `_queue_bind`: "<routing_key>␆␖<pattern>␆␖<queue>". */
export function bindingMember(binding: KombuBinding): string {
  return [binding.routingKey, binding.pattern, binding.queue].join(KOMBU_SEP);
}

/** Parse a binding member; undefined for anything that is not kombu's triple. */
export function parseBindingMember(member: string): KombuBinding | undefined {
  const parts = member.split(KOMBU_SEP);
  if (parts.length !== 3) return undefined;
  return { routingKey: parts[0], pattern: parts[1], queue: parts[2] };
}

/** kombu `prepare_bind`: only topic exchanges store a pattern. */
export function bindingFor(type: ExchangeType, routingKey: string, queue: string): KombuBinding {
  return { routingKey, pattern: type === 'topic' ? topicPattern(routingKey) : '', queue };
}

/** Python's str.isalnum for one code point (letters and numbers of any script). */
const ALNUM = /^[\p{L}\p{N}]$/u;

/**
 * kombu `TopicExchange.key_to_pattern`: escape every non-alphanumeric character but '.#*'
 * (kombu/utils/text.py `escape_regex`), then '*' → '.*?[^\.]' and '#' → '.*?' per word.
 */
export function topicPattern(routingKey: string): string {
  let escaped = '';
  for (const c of routingKey) {
    escaped += ALNUM.test(c) || '.#*'.includes(c) ? c : c === '\0' ? '\\000' : `\\${c}`;
  }
  const words = escaped.split('.').map((w) => (w === '*' ? '.*?[^\\.]' : w === '#' ? '.*?' : w));
  return `^${words.join('\\.')}$`;
}

const compiled = new Map<string, RegExp | null>();

/**
 * Does a stored topic pattern (kombu writes a Python regex, see topicPattern) match the routing
 * key? kombu's semantics, not AMQP's (see ../../topic-match.table.ts): a Python publisher on the
 * same Redis routes this way, and both sides must deliver a message to the same queues. The
 * patterns kombu generates are valid JavaScript regexes without the `u` flag.
 */
export function kombuTopicMatches(pattern: string, routingKey: string): boolean {
  let re = compiled.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern);
    } catch {
      re = null;
    }
    compiled.set(pattern, re);
  }
  return re !== null && re.test(routingKey);
}

/**
 * kombu `_lookup` for a named exchange: the queues a message reaches given the exchange's
 * bindings (direct: equal routing key; topic: the stored kombu regex; fanout: every bound queue).
 */
export function routeToQueues(type: ExchangeType, bindings: readonly KombuBinding[], routingKey: string): string[] {
  const queues = new Set<string>();
  for (const b of bindings) {
    const hit = type === 'fanout' ? true : type === 'topic' ? kombuTopicMatches(b.pattern, routingKey) : b.routingKey === routingKey;
    if (hit && b.queue) queues.add(b.queue);
  }
  return [...queues];
}
