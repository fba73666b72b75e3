import { serializeException } from '../protocol/exceptions.js';
import { ValueError } from '../protocol/python-errors.js';
import { PythonErrorRegistry } from './python-error.registry.js';

class Billing extends Error {}
class InsufficientFunds extends Billing {}
class Overdrawn extends InsufficientFunds {}

describe('PythonErrorRegistry', () => {
  const registry = new PythonErrorRegistry([
    [Billing, 'billing.errors.BillingError'],
    [InsufficientFunds, 'billing.errors.InsufficientFunds'],
    [RangeError, 'LookupError'],
  ]);

  test('maps a class to its Python exception; serializeException reads the annotation', () => {
    const error = registry.prepare(new InsufficientFunds('need 5')) as Error;
    expect(serializeException(error)).toEqual({ exc_type: 'InsufficientFunds', exc_module: 'billing.errors', exc_message: ['need 5'] });
    // the annotation does not show up when the error is printed or spread
    expect(Object.keys(error)).toEqual([]);
  });

  test('the closest mapped class in the prototype chain wins, whatever the order given', () => {
    expect(serializeException(registry.prepare(new Overdrawn('x')))).toMatchObject({ exc_type: 'InsufficientFunds' });
    expect(serializeException(registry.prepare(new Billing('x')))).toMatchObject({ exc_type: 'BillingError' });
  });

  test('a bare name is a Python builtin', () => {
    expect(serializeException(registry.prepare(new RangeError('r')))).toEqual({ exc_type: 'LookupError', exc_module: 'builtins', exc_message: ['r'] });
  });

  test('errors that already carry a Python type, unmapped errors and non-errors are left alone', () => {
    const typed = new ValueError('v');
    expect(registry.prepare(typed)).toBe(typed);
    expect(serializeException(registry.prepare(typed))).toMatchObject({ exc_type: 'ValueError' });
    const plain = new TypeError('t');
    expect(registry.prepare(plain)).toBe(plain);
    expect(Object.getOwnPropertyNames(plain)).not.toContain('excType');
    expect(registry.prepare('text')).toBe('text');
  });

  test('an invalid Python name is refused when the registry is built', () => {
    expect(() => new PythonErrorRegistry([[Billing, 'not valid!']])).toThrow(/invalid Python exception name "not valid!"/);
  });
});
