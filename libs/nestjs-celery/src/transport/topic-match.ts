/**
 * Topic-exchange matching with AMQP's semantics (RabbitMQ's topic exchange): words split on '.',
 * '*' matches exactly one word and '#' zero or more; used by every broker that routes in-process.
 */

/** Does the binding key `pattern` match the routing key? */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const p = pattern.split('.');
  const k = routingKey.split('.');
  // reach[j]: the first i pattern words can match the first j key words (dynamic programming,
  // O(words²) so a hostile pattern cannot blow up the way a backtracking regex can)
  let reach = new Array<boolean>(k.length + 1).fill(false);
  reach[0] = true;
  for (const word of p) {
    const next = new Array<boolean>(k.length + 1).fill(false);
    for (let j = 0; j <= k.length; j++) {
      if (word === '#') next[j] = reach[j] || (j > 0 && next[j - 1]);
      else if (j > 0 && reach[j - 1] && (word === '*' || word === k[j - 1])) next[j] = true;
    }
    reach = next;
  }
  return reach[k.length];
}
