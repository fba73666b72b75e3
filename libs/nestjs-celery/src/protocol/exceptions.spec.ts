import { CeleryTaskError, exceptionFromResult, formatTraceback, JS_EXCEPTION_MODULE, serializeException } from './exceptions.js';
import { KeyError, NotRegistered, PyTypeError, pythonError, PythonError, TimeLimitExceeded, ValueError } from './python-errors.js';

describe('serializeException', () => {
  test('Python-typed errors travel as exactly that type, with their args', () => {
    expect(serializeException(new ValueError('custom'))).toEqual({ exc_type: 'ValueError', exc_message: ['custom'], exc_module: 'builtins' });
    expect(serializeException(new ValueError('a', 2, null))).toEqual({ exc_type: 'ValueError', exc_message: ['a', 2, null], exc_module: 'builtins' });
    expect(serializeException(new PyTypeError())).toEqual({ exc_type: 'TypeError', exc_message: [], exc_module: 'builtins' });
    expect(serializeException(new TimeLimitExceeded(30))).toEqual({ exc_type: 'TimeLimitExceeded', exc_message: [30], exc_module: 'billiard.exceptions' });
    expect(serializeException(pythonError('PaymentDeclined', ['card'], 'shop.errors'))).toEqual({
      exc_type: 'PaymentDeclined',
      exc_message: ['card'],
      exc_module: 'shop.errors',
    });
  });

  test('excType/excModule as static or own properties win over the JS name', () => {
    class Declined extends Error {
      static excType = 'Declined';
      static excModule = 'shop.errors';
    }
    expect(serializeException(new Declined('no'))).toEqual({ exc_type: 'Declined', exc_message: ['no'], exc_module: 'shop.errors' });
    const own = Object.assign(new Error('x'), { excType: 'LookupError' });
    expect(serializeException(own)).toEqual({ exc_type: 'LookupError', exc_message: ['x'], exc_module: 'builtins' });
    const elsewhere = Object.assign(new Error('x'), { excType: 'Custom' });
    expect(serializeException(elsewhere).exc_module).toBe(JS_EXCEPTION_MODULE);
  });

  test.each<[Error, string, string]>([
    [new Error('plain'), 'Exception', 'builtins'],
    [new TypeError('t'), 'TypeError', 'builtins'],
    [new RangeError('r'), 'ValueError', 'builtins'],
    [new SyntaxError('s'), 'SyntaxError', 'builtins'],
    [new ReferenceError('f'), 'ReferenceError', 'builtins'],
    [new EvalError('e'), 'EvalError', JS_EXCEPTION_MODULE],
    [new URIError('u'), 'URIError', JS_EXCEPTION_MODULE],
  ])('JS %p → %s in %s', (error, type, module) => {
    expect(serializeException(error)).toEqual({ exc_type: type, exc_message: [error.message], exc_module: module });
  });

  test('a subclass that did not set name is named after its class; one that did keeps its name', () => {
    class HttpFailure extends Error {}
    class Named extends Error {
      override name = 'NotFound';
    }
    expect(serializeException(new HttpFailure('503'))).toEqual({ exc_type: 'HttpFailure', exc_message: ['503'], exc_module: JS_EXCEPTION_MODULE });
    expect(serializeException(new Named('x')).exc_type).toBe('NotFound');
  });

  test('an empty message means no args, like Exception()', () => {
    expect(serializeException(new Error()).exc_message).toEqual([]);
  });

  test('non-JSON-able args become their repr (ensure_serializable)', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    const info = serializeException(new ValueError(cyclic, () => 1, undefined, 2n ** 70n, { ok: [1] }));
    expect(info.exc_message[0]).toMatch(/^\[<Recursion on list/);
    expect(info.exc_message.slice(1)).toEqual(['None', null, 2n ** 70n, { ok: [1] }]);
  });

  test('thrown non-errors become Exception(value)', () => {
    expect(serializeException('boom')).toEqual({ exc_type: 'Exception', exc_message: ['boom'], exc_module: 'builtins' });
    expect(serializeException({ code: 1 })).toEqual({ exc_type: 'Exception', exc_message: [{ code: 1 }], exc_module: 'builtins' });
    expect(serializeException(undefined)).toEqual({ exc_type: 'Exception', exc_message: [], exc_module: 'builtins' });
    expect(serializeException({ excType: 'KeyError', args: ['k'] })).toEqual({ exc_type: 'KeyError', exc_message: ['k'], exc_module: 'builtins' });
  });
});

describe('formatTraceback', () => {
  function thrower(): never {
    throw new ValueError('custom');
  }

  test('shaped like a Python traceback: header, frames oldest first, last line ExcType: message', () => {
    let error: unknown;
    try {
      thrower();
    } catch (e) {
      error = e;
    }
    const text = formatTraceback(error);
    const lines = text.split('\n');
    expect(lines[0]).toBe('Traceback (most recent call last):');
    expect(text.endsWith('ValueError: custom\n')).toBe(true);
    const frames = lines.filter((l) => l.startsWith('  File '));
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) expect(f).toMatch(/^ {2}File ".*", line \d+, in .+$/);
    // the newest frame (where it was thrown) comes last
    expect(frames[frames.length - 1]).toMatch(/exceptions\.spec\.ts", line \d+, in thrower$/);
  });

  test('last lines follow Python: no colon without args, repr for several args and for KeyError, module-qualified non-builtins', () => {
    const last = (e: unknown) => formatTraceback(e).trimEnd().split('\n').pop();
    expect(last(new PythonError())).toBe('Exception');
    expect(last(new ValueError('a', 2, null))).toBe("ValueError: ('a', 2, None)");
    expect(last(new KeyError('k'))).toBe("KeyError: 'k'");
    expect(last(new NotRegistered('tasks.missing'))).toBe("celery.exceptions.NotRegistered: 'tasks.missing'");
    expect(last(new RangeError('too big'))).toBe('ValueError: too big');
    expect(last('thrown string')).toBe('Exception: thrown string');
  });

  test('frame lines parse V8 forms: named, anonymous, async, file URLs', () => {
    const e = new Error('x');
    e.stack = [
      'Error: x',
      '    at inner (file:///app/dist/a.js:10:5)',
      '    at async Promise.all (index 0)',
      '    at /app/dist/b.js:20:7',
      '    at new Thing (/app/dist/c.js:30:1)',
    ].join('\n');
    expect(formatTraceback(e)).toBe(
      [
        'Traceback (most recent call last):',
        '  File "/app/dist/c.js", line 30, in new Thing',
        '  File "/app/dist/b.js", line 20, in <module>',
        '  File "index 0", line 0, in Promise.all',
        '  File "/app/dist/a.js", line 10, in inner',
        'Exception: x',
        '',
      ].join('\n'),
    );
  });

  test('causes are printed first, like "The above exception was the direct cause ..."', () => {
    const cause = new TypeError('root');
    cause.stack = 'TypeError: root';
    const outer = new Error('outer', { cause });
    outer.stack = 'Error: outer';
    expect(formatTraceback(outer)).toBe(
      'Traceback (most recent call last):\nTypeError: root\n' +
        '\nThe above exception was the direct cause of the following exception:\n\n' +
        'Traceback (most recent call last):\nException: outer\n',
    );
  });
});

describe('exceptionFromResult', () => {
  test('an exception dict becomes a typed CeleryTaskError whose message reads like Python', () => {
    const err = exceptionFromResult({ exc_type: 'ValueError', exc_message: ['custom'], exc_module: 'builtins' }, 'Traceback...', 'tid');
    expect(err).toBeInstanceOf(CeleryTaskError);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({
      excType: 'ValueError',
      excModule: 'builtins',
      excMessage: ['custom'],
      traceback: 'Traceback...',
      taskId: 'tid',
      state: 'FAILURE',
    });
    expect(err.message).toBe('ValueError: custom');
    expect(err.name).toBe('CeleryTaskError');
  });

  test.each<[unknown, string]>([
    [{ exc_type: 'ValueError', exc_message: ['a', 2, null], exc_module: 'builtins' }, "ValueError: ('a', 2, None)"],
    [{ exc_type: 'RuntimeError', exc_message: [], exc_module: 'builtins' }, 'RuntimeError'],
    [{ exc_type: 'KeyError', exc_message: ['k'], exc_module: 'builtins' }, "KeyError: 'k'"],
    [{ exc_type: 'TaskRevokedError', exc_message: ['expired'], exc_module: 'celery.exceptions' }, 'celery.exceptions.TaskRevokedError: expired'],
    [{ exc_type: 'Custom', exc_message: 'not a list', exc_module: '__main__' }, 'Custom: not a list'],
    [{ exc_type: 'Custom' }, 'Custom'],
  ])('%p → %s', (result, message) => {
    expect(exceptionFromResult(result, null).message).toBe(message);
  });

  test('a scalar exc_message is one arg and a missing one is the empty string (cls(msg) / cls(""))', () => {
    expect(exceptionFromResult({ exc_type: 'X', exc_message: 'm' }, null).excMessage).toEqual(['m']);
    expect(exceptionFromResult({ exc_type: 'X' }, null).excMessage).toEqual(['']);
    expect(exceptionFromResult({ exc_type: 'X' }, null).excModule).toBeNull();
  });

  test('Celery 5.2 quirks: null result, dict without exc_type, plain string', () => {
    const none = exceptionFromResult(null, null, 'tid', 'RETRY');
    expect(none).toMatchObject({ excType: 'Exception', state: 'RETRY', taskId: 'tid' });
    expect(none.message).toMatch(/without exception information/);
    const dict = exceptionFromResult({ error: 'x' }, 'tb', 'tid');
    expect(dict.message).toMatch(/not an exception: \{"error": "x"\}/);
    expect(dict.traceback).toBe('tb');
    expect(exceptionFromResult('went wrong', null)).toMatchObject({ excType: 'Exception', excMessage: ['went wrong'], message: 'Exception: went wrong' });
  });

  test('serializeException → exceptionFromResult keeps type, module and args', () => {
    const info = serializeException(new TimeLimitExceeded(30));
    const err = exceptionFromResult(info, null);
    expect(err).toMatchObject({ excType: 'TimeLimitExceeded', excModule: 'billiard.exceptions', excMessage: [30] });
  });
});
