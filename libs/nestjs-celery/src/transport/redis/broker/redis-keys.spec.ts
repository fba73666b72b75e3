import { bindingFor, bindingMember, KombuKeys, parseBindingMember, priorityStep, kombuTopicMatches, routeToQueues, topicPattern } from './redis-keys.js';
import { parseRedisUrl, parseRedisUrls, RedisUrlError } from '../redis-url.js';
import { TOPIC_TABLE } from '../../topic-match.table.js';

const SEP = '\x06\x16';

describe('kombu Redis key names', () => {
  it('maps priorities to kombu steps (largest step ≤ priority, clamped to 0..9)', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -1, 4.9].map(priorityStep)).toEqual([0, 0, 0, 3, 3, 3, 6, 6, 6, 9, 9, 0, 3]);
    expect(priorityStep(undefined)).toBe(0);
    const keys = new KombuKeys('', 0);
    expect(keys.queue('celery', 0)).toBe('celery');
    expect(keys.queue('celery', 5)).toBe(`celery${SEP}3`);
    expect(keys.brpopKeys(['a', 'b'])).toEqual(['a', 'b', `a${SEP}3`, `b${SEP}3`, `a${SEP}6`, `b${SEP}6`, `a${SEP}9`, `b${SEP}9`]);
  });

  it('applies global_keyprefix to keys and channels and strips it from replies', () => {
    const keys = new KombuKeys('app:', 2);
    expect(keys.queue('celery', 9)).toBe(`app:celery${SEP}9`);
    expect(keys.bindings('celery')).toBe('app:_kombu.binding.celery');
    expect([keys.unacked, keys.unackedIndex, keys.unackedMutex]).toEqual(['app:unacked', 'app:unacked_index', 'app:unacked_mutex']);
    expect(keys.queueOfKey(`app:celery${SEP}6`)).toBe('celery');
    expect(keys.queueOfKey('app:celery')).toBe('celery');
    expect(keys.fanoutChannel('celery.pidbox', '')).toBe('app:/2.celery.pidbox');
    expect(keys.fanoutChannel('celeryev', 'worker.heartbeat')).toBe('app:/2.celeryev/worker.heartbeat');
    expect(keys.fanoutPattern('celeryev', 'worker.#')).toBe('app:/2.celeryev/worker.*');
    expect(keys.exchangeOfChannel('app:/2.celeryev/worker.heartbeat')).toBe('celeryev');
    expect(keys.exchangeOfChannel('app:/2.celery.pidbox')).toBe('celery.pidbox');
  });

  it('writes binding members and topic patterns exactly as kombu 5.2.4 does', () => {
    // expected patterns printed by kombu's TopicExchange.key_to_pattern
    expect(topicPattern('celery')).toBe('^celery$');
    expect(topicPattern('worker.#')).toBe('^worker\\..*?$');
    expect(topicPattern('*.b.#')).toBe('^.*?[^\\.]\\.b\\..*?$');
    expect(topicPattern('a-b.c_d')).toBe('^a\\-b\\.c\\_d$');
    expect(topicPattern('é.x')).toBe('^é\\.x$');
    expect(topicPattern('a b/c')).toBe('^a\\ b\\/c$');
    expect(bindingMember(bindingFor('direct', 'celery', 'celery'))).toBe(`celery${SEP}${SEP}celery`);
    expect(bindingMember(bindingFor('topic', 'a.*', 'q'))).toBe(`a.*${SEP}^a\\..*?[^\\.]$${SEP}q`);
    expect(parseBindingMember(`rk${SEP}${SEP}q`)).toEqual({ routingKey: 'rk', pattern: '', queue: 'q' });
    expect(parseBindingMember('garbage')).toBeUndefined();
  });

  it('routes topic, direct and fanout exchanges (topic: kombu’s semantics, the shared table’s kombu column)', () => {
    for (const [pattern, key, , routes] of TOPIC_TABLE) {
      expect([pattern, key, routeToQueues('topic', [bindingFor('topic', pattern, 'q')], key)]).toEqual([pattern, key, routes ? ['q'] : []]);
    }
    expect(routeToQueues('direct', [bindingFor('direct', 'k', 'q1'), bindingFor('direct', 'k', 'q1')], 'k')).toEqual(['q1']);
    expect(routeToQueues('fanout', [bindingFor('fanout', '', 'q1'), bindingFor('fanout', 'x', 'q2')], 'zzz')).toEqual(['q1', 'q2']);
    expect(kombuTopicMatches('([', 'x')).toBe(false);
  });
});

describe('Redis broker URLs', () => {
  it('reads host, port, db, credentials and TLS like kombu', () => {
    expect(parseRedisUrl('redis://localhost:6380/3')).toMatchObject({ db: 3, options: { host: 'localhost', port: 6380, db: 3 } });
    expect(parseRedisUrl('redis://').options).toMatchObject({ host: '127.0.0.1', port: 6379, db: 0 });
    const secure = parseRedisUrl('rediss://user:p%40ss@h:1/');
    expect(secure.options).toMatchObject({ username: 'user', password: 'p@ss', tls: {}, db: 0 });
    expect(secure.display).toBe('rediss://user:***@h:1/');
    expect(parseRedisUrls('redis://a/1;redis://b/1').map((e) => e.options.host)).toEqual(['a', 'b']);
  });

  it('rejects what kombu rejects, saying how to write it', () => {
    expect(() => parseRedisUrl('redis://h/x')).toThrow(RedisUrlError);
    expect(() => parseRedisUrl('amqp://h')).toThrow(/scheme "amqp" is not redis/);
    expect(() => parseRedisUrls([])).toThrow(/no URL given/);
  });
});
