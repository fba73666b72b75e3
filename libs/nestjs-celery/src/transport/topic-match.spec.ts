/** The topic-matching table every routing broker must agree on (AMQP semantics). */
import { topicMatches } from './topic-match.js';
import { TOPIC_TABLE } from './topic-match.table.js';

describe('topicMatches (AMQP topic semantics)', () => {
  it.each(TOPIC_TABLE)('%j routes %j: %s', (pattern, key, expected) => {
    expect(topicMatches(pattern, key)).toBe(expected);
  });

  it('stays fast on a pathological pattern', () => {
    const pattern = Array.from({ length: 200 }, () => '#').join('.') + '.x';
    const key = Array.from({ length: 200 }, () => 'a').join('.');
    const start = Date.now();
    expect(topicMatches(pattern, key)).toBe(false);
    expect(Date.now() - start).toBeLessThan(1000);
  });
});
