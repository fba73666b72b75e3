import fc from 'fast-check';
import { jest } from '@jest/globals';
import { nowNaiveUtcIso, parseIsoDate, toIsoString, toJsonIsoString } from './dates.js';

describe('toIsoString (Python aware isoformat in UTC)', () => {
  test('six fraction digits and +00:00', () => {
    expect(toIsoString(new Date('2024-05-01T10:00:05.123Z'))).toBe('2024-05-01T10:00:05.123000+00:00');
    expect(toIsoString(new Date('2024-05-01T10:00:05.001Z'))).toBe('2024-05-01T10:00:05.001000+00:00');
  });

  test('the fraction is omitted when zero, like isoformat()', () => {
    expect(toIsoString(new Date('2030-01-02T03:04:05Z'))).toBe('2030-01-02T03:04:05+00:00');
  });

  test('years below 1000 keep four digits; out-of-range or invalid dates throw RangeError', () => {
    const d = new Date(0);
    d.setUTCFullYear(5, 0, 1);
    expect(toIsoString(d)).toBe('0005-01-01T00:00:00+00:00');
    expect(() => toIsoString(new Date(NaN))).toThrow(RangeError);
    expect(() => toIsoString(new Date('+010000-01-01T00:00:00Z'))).toThrow(RangeError);
  });

  test('nowNaiveUtcIso is datetime.utcnow().isoformat(): no offset', () => {
    expect(nowNaiveUtcIso(new Date('2024-05-01T10:00:05.5Z'))).toBe('2024-05-01T10:00:05.500000');
    expect(nowNaiveUtcIso()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/);
  });

  test('nowNaiveUtcIso() follows the clock: the time formatted for one millisecond is never handed out for the next', () => {
    jest.useFakeTimers({ now: new Date('2024-05-01T10:00:05.123Z') });
    try {
      expect(nowNaiveUtcIso()).toBe('2024-05-01T10:00:05.123000');
      expect(nowNaiveUtcIso()).toBe('2024-05-01T10:00:05.123000');
      jest.setSystemTime(new Date('2024-05-01T10:00:05.124Z'));
      expect(nowNaiveUtcIso()).toBe('2024-05-01T10:00:05.124000');
      jest.setSystemTime(new Date('2031-12-31T23:59:59Z'));
      expect(nowNaiveUtcIso()).toBe('2031-12-31T23:59:59');
    } finally {
      jest.useRealTimers();
    }
  });

  test('toJsonIsoString is kombu 5.2 JSON: Z instead of +00:00', () => {
    expect(toJsonIsoString(new Date('2024-05-01T10:00:05.123Z'))).toBe('2024-05-01T10:00:05.123000Z');
  });
});

describe('parseIsoDate', () => {
  const at = (iso: string) => new Date(iso).getTime();
  test.each([
    ['2024-05-01T10:00:05.123456+00:00', '2024-05-01T10:00:05.123Z'],
    ['2024-05-01T10:00:05+00:00', '2024-05-01T10:00:05.000Z'],
    ['2024-05-01T10:00:05.123456Z', '2024-05-01T10:00:05.123Z'],
    ['2024-05-01T10:00:05.123456', '2024-05-01T10:00:05.123Z'],
    ['2024-05-01T10:00:05', '2024-05-01T10:00:05.000Z'],
    ['2024-05-01 10:00:05', '2024-05-01T10:00:05.000Z'],
    ['2024-05-01T12:30:05+02:30', '2024-05-01T10:00:05.000Z'],
    ['2024-05-01T05:00:05-05:00', '2024-05-01T10:00:05.000Z'],
    ['2024-05-01T05:00:05-0500', '2024-05-01T10:00:05.000Z'],
    ['2024-05-01T12:00:05+02', '2024-05-01T10:00:05.000Z'],
    ['2024-05-01T10:00', '2024-05-01T10:00:00.000Z'],
    ['2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['2024-5-1T10:00:05', '2024-05-01T10:00:05.000Z'],
    ['2024-02-29T00:00:00', '2024-02-29T00:00:00.000Z'],
  ])('%s', (text, iso) => {
    expect(parseIsoDate(text).getTime()).toBe(at(iso));
  });

  test("the fraction is a decimal fraction (.123 = 123 ms), not Celery 5.2's integer microseconds", () => {
    expect(parseIsoDate('2024-05-01T10:00:05.123').getUTCMilliseconds()).toBe(123);
    expect(parseIsoDate('2024-05-01T10:00:05.1').getUTCMilliseconds()).toBe(100);
    expect(parseIsoDate('2024-05-01T10:00:05.000999').getUTCMilliseconds()).toBe(0);
    expect(parseIsoDate('2024-05-01T10:00:05.999999999').getUTCMilliseconds()).toBe(999);
  });

  test('years below 100 are not shifted to the 1900s', () => {
    expect(parseIsoDate('0005-01-01T00:00:00').getUTCFullYear()).toBe(5);
  });

  test.each([
    'garbage',
    '',
    '2024-13-01T00:00:00',
    '2023-02-29T00:00:00',
    '2024-04-31',
    '2024-05-01T24:00:00',
    '2024-05-01T10:60:00',
    '2024-05-01T10:00:61',
    '2024-05-01T10:00:00+25:00',
    '2024-05-01T10:00:00 trailing',
    '0000-01-01',
  ])('garbage %p throws RangeError naming the text', (text) => {
    expect(() => parseIsoDate(text)).toThrow(RangeError);
    expect(() => parseIsoDate(text)).toThrow(JSON.stringify(text));
  });

  test('non-strings throw RangeError too', () => {
    expect(() => parseIsoDate(5 as unknown as string)).toThrow(RangeError);
  });

  test('property: parseIsoDate(toIsoString(d)) is d, for every date Python can hold', () => {
    const dates = fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });
    fc.assert(
      fc.property(dates, (d) => {
        expect(parseIsoDate(toIsoString(d)).getTime()).toBe(d.getTime());
        expect(parseIsoDate(nowNaiveUtcIso(d)).getTime()).toBe(d.getTime());
        expect(parseIsoDate(toJsonIsoString(d)).getTime()).toBe(d.getTime());
        expect(toIsoString(d)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}000)?\+00:00$/);
      }),
      { numRuns: 500 },
    );
  });
});
