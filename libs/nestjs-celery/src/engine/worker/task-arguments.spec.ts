import { silentLogger } from '../../common/logger.js';
import { CeleryTaskError } from '../../protocol/exceptions.js';
import { PyTypeError } from '../../protocol/python-errors.js';
import { MemoryBackend } from '../../transport/memory/memory.backend.js';
import { MemoryBroker } from '../../transport/memory/memory.broker.js';
import { Celery } from '../celery.js';
import { TaskParamsError, TaskSignature } from './task-arguments.js';
import { Worker } from './worker.js';

/** Bind a call, or the message of the TypeError it raises. */
function call(params: string[], args: unknown[], kwargs: Record<string, unknown> = {}, task = 'tasks.add'): unknown[] | string {
  try {
    return new TaskSignature(task, params).bind(args, kwargs);
  } catch (error) {
    expect(error).toBeInstanceOf(PyTypeError);
    return (error as Error).message;
  }
}

describe('TaskSignature.bind: Python 3.11 binding and TypeError messages', () => {
  // expected messages are CPython 3.11.2's for the same def and call (checked with /usr/bin/python3)
  test.each([
    [['x', 'y'], [], {}, "add() missing 2 required positional arguments: 'x' and 'y'"],
    [['x', 'y'], [1], {}, "add() missing 1 required positional argument: 'y'"],
    [['x', 'y', 'z'], [], {}, "add() missing 3 required positional arguments: 'x', 'y', and 'z'"],
    [['x', 'y', 'z'], [1], {}, "add() missing 2 required positional arguments: 'y' and 'z'"],
    [['x', 'y'], [1, 2, 3], {}, 'add() takes 2 positional arguments but 3 were given'],
    [['x', 'y'], [1], { z: 3 }, "add() got an unexpected keyword argument 'z'"],
    [['x', 'y'], [1], { x: 3 }, "add() got multiple values for argument 'x'"],
    [[], [1], {}, 'add() takes 0 positional arguments but 1 was given'],
    [[], [1, 2], {}, 'add() takes 0 positional arguments but 2 were given'],
    [['x'], [1, 2], {}, 'add() takes 1 positional argument but 2 were given'],
    [['x', 'y?'], [1, 2, 3], {}, 'add() takes from 1 to 2 positional arguments but 3 were given'],
    [['x', 'y?'], [], {}, "add() missing 1 required positional argument: 'x'"],
    [['x', 'y'], [1, 2], { x: 1, z: 2 }, "add() got multiple values for argument 'x'"],
    [['x', 'y'], [], { z: 1 }, "add() got an unexpected keyword argument 'z'"],
    [['x', 'y'], [1, 2, 3], { x: 1 }, "add() got multiple values for argument 'x'"],
    [['x', '**kw'], [1, 2], {}, 'add() takes 1 positional argument but 2 were given'],
    [['x', '*args'], [], { args: 1 }, "add() got an unexpected keyword argument 'args'"],
    [['x', 'y'], [], { y: 1, z: 2 }, "add() got an unexpected keyword argument 'z'"],
    [['x', 'y?'], [1, 2, 3], { z: 1 }, "add() got an unexpected keyword argument 'z'"],
    [['x', 'y'], [1], { x: 2, z: 3 }, "add() got multiple values for argument 'x'"],
  ])('%j (*%j, **%j) → %s', (params, args, kwargs, message) => {
    expect(call(params, args, kwargs)).toBe(message);
  });

  test('keywords fill parameters by name, mixed with positionals as in Python', () => {
    expect(call(['x', 'y'], [], { x: 4, y: 5 })).toEqual([4, 5]);
    expect(call(['x', 'y'], [], { y: 5, x: 4 })).toEqual([4, 5]);
    expect(call(['x', 'y'], [4], { y: 5 })).toEqual([4, 5]);
    expect(call(['x', 'y'], [4, 5])).toEqual([4, 5]);
  });

  test('a parameter with a default may be left out (undefined, so a JS default applies); null is a value', () => {
    expect(call(['x', 'y?'], [1])).toEqual([1, undefined]);
    expect(call(['x', 'y?'], [], { x: 1, y: null })).toEqual([1, null]);
    expect(call(['x?', 'y?'], [], { y: 2 })).toEqual([undefined, 2]);
  });

  test('*args and **kwargs collect the extras (an array and an object, in declared order)', () => {
    expect(call(['x', '*rest', '**options'], [1, 2, 3], { a: 1 })).toEqual([1, [2, 3], { a: 1 }]);
    expect(call(['x', '*rest'], [1])).toEqual([1, []]);
    expect(call(['x', '**options'], [], { x: 1, a: 2 })).toEqual([1, { a: 2 }]);
    expect(call(['**options'], [], { x: 1 })).toEqual([{ x: 1 }]);
    const [bound] = call(['**options'], [], JSON.parse('{"__proto__": 1}') as Record<string, unknown>) as [Record<string, unknown>];
    expect(Object.keys(bound)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(bound)).toBe(Object.prototype);
  });

  test("the message names the task's last dotted part, as Python names the function", () => {
    expect(call(['a'], [], {}, 'billing.invoices.render')).toBe("render() missing 1 required positional argument: 'a'");
  });

  test('a bad declaration is refused when the task is registered, saying how to write it', () => {
    expect(() => new TaskSignature('t', ['x?', 'y'])).toThrow(TaskParamsError);
    expect(() => new TaskSignature('t', ['x?', 'y'])).toThrow(/"y" has no default but follows one that has/);
    expect(() => new TaskSignature('t', ['**kw', 'x'])).toThrow(/must be last/);
    expect(() => new TaskSignature('t', ['*a', 'x'])).toThrow(/keyword-only/);
    expect(() => new TaskSignature('t', ['x', 'x'])).toThrow(/twice/);
    expect(() => new TaskSignature('t', ['x y'])).toThrow(/not a parameter name/);
    expect(() => new TaskSignature('t', ['*a', '*b'])).toThrow(/two "\*"/);
  });
});

describe('Worker with params (memory transport)', () => {
  test("kwargs bind by name; a bad call is FAILURE TypeError with Python's message, never a result", async () => {
    const name = `task-arguments-spec-${process.pid}`;
    const app = new Celery({ broker: new MemoryBroker(`memory://${name}`), backend: new MemoryBackend(`memory://${name}`), logger: silentLogger });
    const worker = new Worker(app, { logger: silentLogger });
    worker.register('tasks.add', ([x, y]) => `${String(x)}${String(y)}`, { params: ['x', 'y'] });
    worker.register('tasks.plain', (args, kwargs) => ({ args, kwargs }));
    expect(() => worker.register('tasks.bad', () => 1, { params: ['x?', 'y'] })).toThrow(TaskParamsError);
    await worker.start();
    try {
      const ok = await app.sendTask('tasks.add', [], { x: 4, y: 5 });
      await expect(ok.get({ timeout: 10_000 })).resolves.toBe('45');
      const mixed = await app.sendTask('tasks.add', ['a'], { y: 'b' });
      await expect(mixed.get({ timeout: 10_000 })).resolves.toBe('ab');
      const missing = await app.sendTask('tasks.add', [], { x: 4 });
      const error = (await missing.get({ timeout: 10_000 }).catch((e: unknown) => e)) as CeleryTaskError;
      expect(error).toBeInstanceOf(CeleryTaskError);
      expect(error).toMatchObject({
        state: 'FAILURE',
        excType: 'TypeError',
        excModule: 'builtins',
        excMessage: ["add() missing 1 required positional argument: 'y'"],
      });
      // without params, args and kwargs reach the handler as sent (unchanged)
      const plain = await app.sendTask('tasks.plain', [1], { k: 2 });
      await expect(plain.get({ timeout: 10_000 })).resolves.toEqual({ args: [1], kwargs: { k: 2 } });
    } finally {
      await worker.stop();
      await app.close();
    }
  }, 30_000);
});
