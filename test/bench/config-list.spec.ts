/** bench/config.ts's list: the bench's comma-separated settings, and a typo caught at the start. */
import { list } from '../../bench/config.js';

describe('bench list settings', () => {
  const name = 'BENCH_TEST_LIST';
  afterEach(() => delete process.env[name]);

  it('is the default when unset or empty', () => {
    expect(list(name, ['a', 'b'], ['a', 'b', 'c'])).toEqual(['a', 'b']);
    process.env[name] = '';
    expect(list(name, ['a'], ['a', 'b'])).toEqual(['a']);
  });

  it('reads the entries given, trimmed, in their order', () => {
    process.env[name] = ' c, a ,';
    expect(list(name, ['a'], ['a', 'b', 'c'])).toEqual(['c', 'a']);
  });

  it('throws on an entry it does not know, naming the ones it does', () => {
    process.env[name] = 'ours,ceiling';
    expect(() => list(name, ['ours'], ['ours', 'python', 'celery-node'])).toThrow('BENCH_TEST_LIST=ours,ceiling: ceiling not one of ours, python, celery-node');
  });
});
