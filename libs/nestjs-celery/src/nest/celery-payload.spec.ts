import { InvalidTaskOptionsError } from '../engine/errors.js';
import { CeleryClientCall, readClientCall, readPayload } from './celery-payload.js';

describe('readPayload (CeleryClient send/emit payloads)', () => {
  test('an array is the positional args', () => {
    expect(readPayload([1, 'a'])).toEqual({ args: [1, 'a'], kwargs: {} });
  });

  test('{ args, kwargs } is the full form', () => {
    expect(readPayload({ args: [1], kwargs: { y: 2 } })).toEqual({ args: [1], kwargs: { y: 2 } });
    expect(readPayload({ kwargs: { y: 2 } })).toEqual({ args: [], kwargs: { y: 2 } });
    expect(readPayload({ args: [] })).toEqual({ args: [], kwargs: {} });
  });

  test('any other plain object is the kwargs (also one with extra keys beside args)', () => {
    expect(readPayload({ name: 'Ada' })).toEqual({ args: [], kwargs: { name: 'Ada' } });
    expect(readPayload({ args: [1], name: 'Ada' })).toEqual({ args: [], kwargs: { args: [1], name: 'Ada' } });
    expect(readPayload({ options: { countdown: 1 } })).toEqual({ args: [], kwargs: { options: { countdown: 1 } } });
  });

  test('a scalar or class instance is one positional arg; undefined is none', () => {
    expect(readPayload(21)).toEqual({ args: [21], kwargs: {} });
    const when = new Date(0);
    expect(readPayload(when).args).toEqual([when]);
    expect(readPayload(undefined).args).toEqual([]);
  });

  test('a full form with the wrong shapes is refused with what to send instead', () => {
    expect(() => readPayload({ args: 'x' })).toThrow(/"args" must be an array/);
    expect(() => readPayload({ args: [], kwargs: [1] })).toThrow(/"kwargs" must be a plain object .* got an array/);
  });

  test('options are never read from the payload: the old { args, kwargs, options } form is refused', () => {
    expect(() => readPayload({ args: [1], kwargs: { y: 2 }, options: { countdown: 5 } })).toThrow(InvalidTaskOptionsError);
    expect(() => readPayload({ args: [], options: 5 })).toThrow(/not read from the payload/);
    // with any other key it is kwargs, options included, as any request body is
    expect(readPayload({ args: [1], options: { queue: 'q' }, user: 'x' })).toEqual({ args: [], kwargs: { args: [1], options: { queue: 'q' }, user: 'x' } });
  });

  test('readClientCall: options only from the client-built call, and checked', () => {
    expect(readClientCall(new CeleryClientCall([1], { queue: 'q' }))).toEqual({ args: [1], kwargs: {}, options: { queue: 'q' } });
    expect(readClientCall({ queue: 'q', taskId: 't' })).toEqual({ args: [], kwargs: { queue: 'q', taskId: 't' }, options: {} });
    expect(() => readClientCall(new CeleryClientCall([1], { queues: 'q' } as never))).toThrow(/unknown task option "queues"/);
  });
});
