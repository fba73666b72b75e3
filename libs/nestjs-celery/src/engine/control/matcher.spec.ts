import fc from 'fast-check';
import { globMatches, matches, UnknownMatcherError, UnsafePatternError } from './matcher.js';

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
    expect(globMatches('[', '[')).toBe(true);
    expect(matches('a]', '[!]]]')).toBe(true);
    expect(matches('x-y', '[a-z]-?')).toBe(true);
    expect(matches('', '*')).toBe(true);
    expect(matches('abc', '*?*?*?*')).toBe(true);
    expect(matches('ab', '*?*?*?*')).toBe(false);
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

  test('a glob of many stars that does not match answers at once instead of backtracking exponentially', () => {
    // the shape of the 37 s loop stall: `*` × 14 then a letter the name lacks (here 40 stars)
    const name = 'nestjs@' + 'worker-host-'.repeat(20);
    expect(matches(name, '*'.repeat(14) + 'X')).toBe(false);
    expect(matches(name, '*a'.repeat(40) + 'X')).toBe(false);
    expect(matches(name, '*?'.repeat(60) + '*')).toBe(true);
  }, 60_000);

  test('property: the glob matcher agrees with an fnmatch regular expression on small inputs', () => {
    const reference = (pattern: string) =>
      new RegExp('^(?:' + [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'))).join('') + ')$', 's');
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', '*', '?'), maxLength: 8 }),
        fc.string({ unit: fc.constantFrom('a', 'b'), maxLength: 10 }),
        (pattern, name) => {
          expect(matches(name, pattern)).toBe(reference(pattern).test(name));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('patterns that could stall the event loop are refused with a clear error', () => {
    expect(() => matches('nestjs@h', 'x'.repeat(2000))).toThrow(UnsafePatternError);
    expect(() => matches('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!', '(a+)+$', 'pcre')).toThrow(/nested quantifier/);
    expect(() => matches('aa', '(a*)*b', 'pcre')).toThrow(UnsafePatternError);
    expect(() => matches('aa', '(a)\\1', 'pcre')).toThrow(UnsafePatternError);
    expect(matches('nestjs@h1', 'nestjs@h[0-9]+', 'pcre')).toBe(true);
    expect(matches('nestjs@h1', '(?:nestjs|celery)@h\\d', 'pcre')).toBe(true);
  });
});
