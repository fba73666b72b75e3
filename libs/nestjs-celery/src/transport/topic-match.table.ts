/**
 * The topic-routing cases, with two verdicts: RabbitMQ's topic exchange (AMQP: '*' one word, '#'
 * zero or more; the memory broker and topic-match.ts) and kombu's virtual TopicExchange (what
 * Python Celery does on Redis: its regex lets '*' span words and needs the '.' next to '#'; the
 * Redis broker must agree with Python peers on the same Redis). The kombu column was printed by
 * kombu 5.2's TopicExchange.key_to_pattern + re.match.
 */
/** [binding key, routing key, routes on AMQP?, routes on kombu's virtual transports?] */
export const TOPIC_TABLE: ReadonlyArray<readonly [string, string, boolean, boolean]> = [
  ['celery', 'celery', true, true],
  ['celery', 'celeryx', false, false],
  ['*', 'a', true, true],
  ['*', 'a.b', false, true],
  ['*.b', 'a.b', true, true],
  ['*.b', 'b', false, false],
  ['a.*', 'a', false, false],
  ['a.*.c', 'a.b.c', true, true],
  ['a.*.c', 'a.b.x.c', false, true],
  ['#', '', true, true],
  ['#', 'a.b.c', true, true],
  ['a.#', 'a', true, false],
  ['a.#', 'a.b.c', true, true],
  ['a.#', 'ab', false, false],
  ['#.c', 'c', true, false],
  ['#.c', 'a.b.c', true, true],
  ['a.#.c', 'a.c', true, false],
  ['a.#.c', 'a.b.b.c', true, true],
  ['task.#', 'task.succeeded', true, true],
  ['task.#', 'worker.heartbeat', false, false],
  ['a-b.c', 'a-b.c', true, true],
  ['a+.c', 'aa.c', false, false],
];
