import { readPayload } from './celery-payload.js';

describe('readPayload (CeleryClient send/emit payloads)', () => {
  test('an array is the positional args', () => {
    expect(readPayload([1, 'a'])).toEqual({ args: [1, 'a'], kwargs: {}, options: {} });
  });

  test('{ args, kwargs, options } is the full form', () => {
    expect(readPayload({ args: [1], kwargs: { y: 2 }, options: { countdown: 5 } })).toEqual({ args: [1], kwargs: { y: 2 }, options: { countdown: 5 } });
    expect(readPayload({ kwargs: { y: 2 } })).toEqual({ args: [], kwargs: { y: 2 }, options: {} });
    expect(readPayload({ args: [] })).toEqual({ args: [], kwargs: {}, options: {} });
  });

  test('any other plain object is the kwargs (also one with extra keys beside args)', () => {
    expect(readPayload({ name: 'Ada' })).toEqual({ args: [], kwargs: { name: 'Ada' }, options: {} });
    expect(readPayload({ args: [1], name: 'Ada' })).toEqual({ args: [], kwargs: { args: [1], name: 'Ada' }, options: {} });
    expect(readPayload({ options: { countdown: 1 } })).toEqual({ args: [], kwargs: { options: { countdown: 1 } }, options: {} });
  });

  test('a scalar or class instance is one positional arg; undefined is none', () => {
    expect(readPayload(21)).toEqual({ args: [21], kwargs: {}, options: {} });
    const when = new Date(0);
    expect(readPayload(when).args).toEqual([when]);
    expect(readPayload(undefined).args).toEqual([]);
  });

  test('a full form with the wrong shapes is refused with what to send instead', () => {
    expect(() => readPayload({ args: 'x' })).toThrow(/"args" must be an array/);
    expect(() => readPayload({ args: [], kwargs: [1] })).toThrow(/"kwargs" must be a plain object .* got an array/);
    expect(() => readPayload({ args: [], options: 5 })).toThrow(/"options" must be a plain object/);
  });
});
