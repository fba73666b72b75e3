import fc from 'fast-check';
import { isPyTuple, pyFloatRepr, pyTuple } from './py-values.js';
import { pyArgsRepr, pyRepr, saferepr } from './repr.js';
import { pyStr, pythonRepr } from './python-repr.js';

// Expected strings are what celery.utils.saferepr.saferepr (Celery 5.2.6) prints for the same
// Python values; test/protocol/python-crosscheck.spec.ts checks many more against the real thing.
describe('pyRepr (celery saferepr)', () => {
  test.each<[string, unknown, number | undefined, string]>([
    ['a 2-tuple', pyTuple([2, 2]), undefined, '(2, 2)'],
    ['a 1-tuple', pyTuple([[1, 2]]), undefined, '([1, 2],)'],
    ['an empty tuple', pyTuple([]), undefined, '()'],
    ['a list', [2, 2], undefined, '[2, 2]'],
    ['empty list and dict', [[], {}], undefined, '[[], {}]'],
    ['a dict', { a: 1, b: 'x' }, undefined, "{'a': 1, 'b': 'x'}"],
    ["' is escaped, quotes stay single", pyTuple(["it's"]), undefined, "('it\\'s',)"],
    ['newlines are not escaped', pyTuple(['a\nb']), undefined, "('a\nb',)"],
    ['dicts deeper than 3 levels', { a: { b: { c: { d: 1 } } } }, undefined, "{'a': {'b': {'c': {...}}}}"],
    ['lists deeper than 3 levels', pyTuple([[[[1]]]]), undefined, '([[[...]]],)'],
    ['tuples deeper than 3 levels', pyTuple([pyTuple([1, pyTuple([2, pyTuple([3, pyTuple([4])])])])]), undefined, '((1, (2, (...))),)'],
    [
      'floats',
      pyTuple([1.5e-7, Infinity, NaN, 0.1, 123456789.125, 1e-5, 0.0001, 1e21, -Infinity]),
      undefined,
      '(1.5e-07, inf, nan, 0.1, 123456789.125, 1e-05, 0.0001, 1e+21, -inf)',
    ],
    ['None, bools, big ints', pyTuple([null, true, false, 2n ** 64n + 1n, undefined]), undefined, '(None, True, False, 18446744073709551617, None)'],
    // integral JS numbers below 1e21 travel as JSON ints, so Python sees ints
    ['integral numbers are ints, -0 too', [1, -0, 1e16, 1e20], undefined, '[1, 0, 10000000000000000, 100000000000000000000]'],
    ['truncated list', pyTuple([Array.from({ length: 20 }, (_, i) => i)]), 30, '([0, 1, 2, 3, 4, 5, 6, 7, 8, 9..., ...],)'],
    ['truncated words end at a space', pyTuple(['word '.repeat(20)]), 40, "('word word word word word word word...', ..."],
    ['truncated word', pyTuple(['x'.repeat(50)]), 20, "('xxxxxxxxxxxxxxxxxxx...', ..."],
    ['truncated key', { ['k'.repeat(30)]: 1 }, 10, "{'kkkkkkkkk...', ...}"],
    ['bytes: text or hex', pyTuple([Buffer.from([0, 1, 255]), Buffer.from('abc')]), undefined, "(b'0001ff', b'abc')"],
    ['truncated bytes', pyTuple([Buffer.from('abcdefgh')]), 5, "(b'abcd...', ..."],
    ['cut after a number', pyTuple([1, 2, 3]), 5, '(1, 2..., ...)'],
    ['cut after a separator', pyTuple([1, 2, 3]), 6, '(1, 2, , ...)'],
    ['cut after a separator (7)', pyTuple([1, 2, 3]), 7, '(1, 2, , ...)'],
    ['exactly fits', [1, 2], 6, '[1, 2]'],
    ['a long number', pyTuple([12345678]), 4, '(123..., ...'],
    ['closing brackets of open containers', { a: [1, 2, 3] }, 8, "{'a': [1..., ...]}"],
    ['non-ASCII is kept raw', pyTuple(['hé 😀']), undefined, "('hé 😀',)"],
    ['lengths count code points', pyTuple(['😀'.repeat(10)]), 5, "('😀😀😀😀...', ..."],
    ['Dates as the ISO strings Python receives', [new Date('2024-05-01T10:00:05Z')], undefined, "['2024-05-01T10:00:05Z']"],
    ['Sets as lists, Maps as dicts', [new Set([1]), new Map([['k', 1]])], undefined, "[[1], {'k': 1}]"],
    ['undefined object values are dropped, like JSON', { a: undefined, b: 1 }, undefined, "{'b': 1}"],
  ])('%s', (_name, value, maxLength, expected) => {
    expect(maxLength === undefined ? pyRepr(value) : pyRepr(value, maxLength)).toBe(expected);
  });

  test('the default limit is 1024 characters (argsrepr_maxsize)', () => {
    const repr = pyRepr(Array.from({ length: 1000 }, (_, i) => i));
    expect(repr.length).toBeLessThanOrEqual(1024 + 10);
    expect(repr.endsWith('..., ...]')).toBe(true);
  });

  test('recursive structures print a recursion marker, like saferepr', () => {
    const a: unknown[] = [1];
    a.push(a);
    expect(pyRepr(a, 1000)).toMatch(/^\[1, <Recursion on list with id=\d+>\]$/);
    const shared = [1];
    expect(pyRepr([shared, shared])).toBe('[[1], [1]]');
  });

  test("pyArgsRepr shows args as a tuple without marking the caller's array", () => {
    const args = [2, 2];
    expect(pyArgsRepr(args)).toBe('(2, 2)');
    expect(pyArgsRepr(['x'])).toBe("('x',)");
    expect(isPyTuple(args)).toBe(false);
    expect(pyRepr(args)).toBe('[2, 2]');
  });

  test('property: the untruncated fast route prints exactly what the streaming algorithm prints', () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 1 }),
        fc.constantFrom("it's", '😀 x', 'a b c d e'),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.array(tie('v'), { maxLength: 3 }).map((items) => pyTuple(items)),
        fc.dictionary(fc.string({ maxLength: 5 }), tie('v'), { maxKeys: 3 }),
      ),
    })).v;
    fc.assert(
      fc.property(value, fc.oneof(fc.integer({ min: 1, max: 80 }), fc.constant(1024)), (v, max) => {
        expect(pyRepr(v, max)).toBe(saferepr(v, max, 3));
      }),
      { numRuns: 1000 },
    );
  });

  test('saferepr without a limit never truncates but still cuts levels', () => {
    expect(saferepr('x'.repeat(5000))).toHaveLength(5002);
    expect(saferepr([[[[1]]]])).toBe('[[[[...]]]]');
    expect(saferepr([[[[1]]]], null, 0)).toBe('[[[[1]]]]');
  });

  test('property: never much longer than maxLength, and never throws', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 1, max: 200 }), (value, max) => {
        const repr = pyRepr(value, max);
        // a truncated token may overshoot by its ellipsis, quotes and the closing brackets
        expect(repr.length).toBeLessThanOrEqual(max + 60);
      }),
    );
  });
});

describe('pyFloatRepr (Python float repr)', () => {
  test.each([
    [1.5, '1.5'],
    [0.1, '0.1'],
    [-0, '-0.0'],
    [0, '0.0'],
    [1, '1.0'],
    [1e15, '1000000000000000.0'],
    [1e16, '1e+16'],
    [1.2345e16, '1.2345e+16'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [-2.5, '-2.5'],
    [123456789.125, '123456789.125'],
    [NaN, 'nan'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
  ])('%p → %s', (n, expected) => {
    expect(pyFloatRepr(n)).toBe(expected);
  });

  test('property: the repr parses back to the same double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        expect(Number(pyFloatRepr(n))).toBe(n);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('pythonRepr / pyStr (builtin repr and str)', () => {
  test.each<[unknown, string]>([
    ['abc', "'abc'"],
    ["it's", '"it\'s"'],
    ['both \' and "', "'both \\' and \"'"],
    ['tab\tnl\nbs\\', "'tab\\tnl\\nbs\\\\'"],
    ['\u0001\u007f\u0085\u00a0é\u200b😀', "'\\x01\\x7f\\x85\\xa0é\\u200b😀'"],
    ['\ud800', "'\\ud800'"],
    [pyTuple(['a', 2, null]), "('a', 2, None)"],
    [pyTuple([1]), '(1,)'],
    [{ k: [true, 1.5] }, "{'k': [True, 1.5]}"],
    [Buffer.from([0, 0x27, 0x41, 0xff]), 'b"\\x00\'A\\xff"'],
  ])('%p → %s', (value, expected) => {
    expect(pythonRepr(value)).toBe(expected);
  });

  test('pyStr keeps strings as they are and repr()s the rest', () => {
    expect(pyStr('custom')).toBe('custom');
    expect(pyStr(42)).toBe('42');
    expect(pyStr(null)).toBe('None');
  });
});

describe('pythonRepr of values nested deeper than any Python repr', () => {
  test('10,000 nested lists print with a marker instead of overflowing the stack', async () => {
    const { pythonRepr } = await import('./python-repr.js');
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const text = pythonRepr(deep);
    expect(text.startsWith('['.repeat(100) + '[...]')).toBe(true);
    expect(pythonRepr([[1, 2], { a: [3] }])).toBe("[[1, 2], {'a': [3]}]");
  });
});
