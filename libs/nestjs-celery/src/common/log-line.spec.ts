import { boundedLogger, clipLogText } from './log-line.js';

describe('bounded log lines', () => {
  test('a line over the bound is cut, saying how much was left out; shorter lines pass untouched', () => {
    expect(clipLogText('short', 10)).toBe('short');
    expect(clipLogText('x'.repeat(25), 10)).toBe(`${'x'.repeat(10)}… [15 more characters cut (maxLogLineLength)]`);
  });

  test('boundedLogger cuts every level and string meta, and keeps debug optional', () => {
    const seen: unknown[][] = [];
    const logger = boundedLogger({ log: (...a) => seen.push(a), warn: (...a) => seen.push(a), error: (...a) => seen.push(a) }, 8);
    logger.log('a'.repeat(1024 * 1024));
    logger.error('task x', 'b'.repeat(100), { keep: true });
    expect((seen[0][0] as string).length).toBeLessThan(100);
    expect(seen[1]).toEqual(['task x', expect.stringMatching(/^b{8}… \[92 more/), { keep: true }]);
    expect(logger.debug).toBeUndefined();
  });
});
