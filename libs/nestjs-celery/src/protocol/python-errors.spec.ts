import * as errors from './python-errors.js';
import { PYTHON_BUILTIN_EXCEPTIONS, pythonError, pythonExceptionStr, PythonError } from './python-errors.js';

describe('python-errors', () => {
  test('every builtin class has excModule builtins and a name Python has', () => {
    const builtins = ['ValueError', 'KeyError', 'IndexError', 'PyTypeError', 'AttributeError', 'LookupError', 'ArithmeticError',
      'ZeroDivisionError', 'OverflowError', 'RuntimeError', 'NotImplementedError', 'AssertionError', 'PermissionError',
      'FileNotFoundError', 'ConnectionError', 'TimeoutError', 'OSError'] as const; // prettier-ignore
    for (const name of builtins) {
      const Cls = errors[name];
      const e = new Cls('m');
      expect(e).toBeInstanceOf(Error);
      expect(e).toBeInstanceOf(PythonError);
      expect(e.excModule).toBe('builtins');
      expect(PYTHON_BUILTIN_EXCEPTIONS.has(e.excType)).toBe(true);
      expect(e.name).toBe(e.excType);
      expect(e.args).toEqual(['m']);
    }
  });

  test('Celery and billiard exceptions carry their modules', () => {
    expect(new errors.TaskRevokedError('expired').excModule).toBe('celery.exceptions');
    expect(new errors.NotRegistered('t').excModule).toBe('celery.exceptions');
    expect(new errors.MaxRetriesExceededError().excModule).toBe('celery.exceptions');
    expect(new errors.ChordError('x').excModule).toBe('celery.exceptions');
    expect(new errors.TimeLimitExceeded(30).excModule).toBe('billiard.exceptions');
    expect(new errors.SoftTimeLimitExceeded().excModule).toBe('billiard.exceptions');
    expect(new errors.WorkerLostError('x').excModule).toBe('billiard.exceptions');
  });

  test('message is str(exc)', () => {
    expect(new errors.ValueError('custom').message).toBe('custom');
    expect(new errors.ValueError('a', 1).message).toBe("('a', 1)");
    expect(new errors.KeyError('k').message).toBe("'k'");
    expect(new errors.RuntimeError().message).toBe('');
    expect(pythonExceptionStr('X', [{ a: null }])).toBe("{'a': None}");
  });

  test('pythonError builds any type', () => {
    const e = pythonError('PaymentDeclined', ['card', 3], 'shop.errors');
    expect(e).toMatchObject({ name: 'PaymentDeclined', excType: 'PaymentDeclined', excModule: 'shop.errors', args: ['card', 3], message: "('card', 3)" });
    expect(pythonError('OSError').excModule).toBe('builtins');
  });
});
