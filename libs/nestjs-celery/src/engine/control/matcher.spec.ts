import { globToRegExp, matches, UnknownMatcherError } from './matcher.js';

describe("kombu's remote-control matchers", () => {
  test('glob is fnmatch: whole name, * ? [seq] [!seq], everything else literal', () => {
    expect(matches('celery@host-1', 'celery@*')).toBe(true);
    expect(matches('celery@host-1', 'celery@host-?')).toBe(true);
    expect(matches('celery@host-1', 'celery@host-[12]')).toBe(true);
    expect(matches('celery@host-1', 'celery@host-[!12]')).toBe(false);
    expect(matches('celery@host-1', 'celery@host')).toBe(false);
    expect(matches('celeryXhost', 'celery.host')).toBe(false);
    expect(matches('a.b', 'a.b')).toBe(true);
    expect(matches('Celery@h', 'celery@*')).toBe(false);
    expect(globToRegExp('[').test('[')).toBe(true);
  });

  test('pcre is re.match: anchored at the start only', () => {
    expect(matches('celery@host-1', 'celery@host', 'pcre')).toBe(true);
    expect(matches('celery@host-1', 'host', 'pcre')).toBe(false);
    expect(matches('celery@host-1', '.*host-\\d$', 'pcre')).toBe(true);
  });

  test('an unknown matcher is an error naming the ones there are', () => {
    expect(() => matches('a', 'a', 'regex')).toThrow(UnknownMatcherError);
    expect(() => matches('a', 'a', 'regex')).toThrow(/glob.*pcre/);
  });
});
