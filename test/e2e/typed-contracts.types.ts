/**
 * Compile-time checks of typed task contracts: every `@ts-expect-error` line must be an error
 * (tsc reports an unused one), every other line must compile. Checked by `npx tsc --noEmit`
 * and by typed-contracts.spec.ts.
 */
import { lastValueFrom, of, type Observable } from 'rxjs';
import * as v from 'valibot';
import { z } from 'zod';
import { CeleryClient, CeleryTask, defineTask, type ArgsOf, type AsyncResult, type KwargsOf, type ResultOf, type TaskContract } from 'nestjs-celery';

const add = defineTask<[x: number, y: number], number>('types.add');
const greet = defineTask<[name: string], string, { greeting?: string }>('types.greet');

// helpers extract the contract's types
const argsOf: ArgsOf<typeof add> = [1, 2];
const resultOf: ResultOf<typeof add> = 3;
const kwargsOf: KwargsOf<typeof greet> = { greeting: 'hi' };
// @ts-expect-error the args tuple is [number, number]
const badArgsOf: ArgsOf<typeof add> = ['1', 2];
// @ts-expect-error contracts of different types are not interchangeable
const otherContract: TaskContract<[string], number> = add;
void [argsOf, resultOf, kwargsOf, badArgsOf, otherContract];

// params name the positional args, one name per arg type (kwargs then bind by name)
const named = defineTask<[x: number, y?: number], number>('types.named', { params: ['x', 'y?'], queue: 'math' });
// '**kwargs' after the names hands the method its keywords as one object
const withKwargs = defineTask<[name: string], string, { greeting?: string }>('types.kw', { params: ['name', '**kwargs'] });
void withKwargs;
// @ts-expect-error a plain name beyond the arg types
const tooManyNames = defineTask<[x: number], number>('types.many', { params: ['x', 'y'] });
void tooManyNames;
// @ts-expect-error one name per positional arg type
const tooFewNames = defineTask<[x: number, y: number], number>('types.few', { params: ['x'] });
void [named, tooFewNames];

export async function clientSide(client: CeleryClient): Promise<void> {
  const sum: number = await lastValueFrom(client.call(add, [1, 2]));
  const hello: Observable<string> = client.call(greet, ['Ada'], { greeting: 'hi' });
  const pending: AsyncResult<number> = await client.sendTask(add, [1, 2], {}, { countdown: 5, queue: 'math' });
  void [sum, hello, pending];

  // @ts-expect-error wrong argument type
  client.call(add, ['1', 2]);
  // @ts-expect-error missing argument
  client.call(add, [1]);
  // @ts-expect-error too many arguments
  client.call(add, [1, 2, 3]);
  // @ts-expect-error the result is a number, not a string
  const wrong: string = await lastValueFrom(client.call(add, [1, 2]));
  // @ts-expect-error unknown kwargs type
  client.call(greet, ['Ada'], { greeting: 1 });
  // @ts-expect-error sendTask checks args through the contract too
  await client.sendTask(add, [1, 'two']);
  // @ts-expect-error and types its AsyncResult
  const wrongResult: AsyncResult<string> = await client.sendTask(add, [1, 2]);
  void [wrong, wrongResult];

  // by name: untyped, anything goes
  await client.sendTask('types.any', ['x', 1], { k: true });
}

export class WorkerSide {
  @CeleryTask(add)
  add(x: number, y: number): number {
    return x + y;
  }

  @CeleryTask(add)
  async addAsync(x: number, y: number): Promise<number> {
    return x + y;
  }

  @CeleryTask(add)
  addObservable(x: number, y: number): Observable<number> {
    return of(x + y);
  }

  @CeleryTask(greet)
  greet(name: string, kwargs?: { greeting?: string }): string {
    return `${kwargs?.greeting ?? 'hello'} ${name}`;
  }

  // @ts-expect-error a parameter type that does not match the contract
  @CeleryTask(add)
  addStrings(x: string, y: number): number {
    return Number(x) + y;
  }

  // @ts-expect-error a result type that does not match the contract
  @CeleryTask(add)
  addToText(x: number, y: number): string {
    return `${x + y}`;
  }

  // @ts-expect-error a Promise of the wrong result type
  @CeleryTask(add)
  async addAsyncText(x: number, y: number): Promise<string> {
    return `${x + y}`;
  }

  // @ts-expect-error kwargs of the wrong shape
  @CeleryTask(greet)
  greetWrongKwargs(name: string, kwargs?: { greeting: number }): string {
    return `${kwargs?.greeting} ${name}`;
  }

  // by name: unchecked
  @CeleryTask('types.any')
  anything(...args: unknown[]): unknown {
    return args;
  }
}

// contracts from Standard Schema validators: the types are the schemas' (zod 4 and valibot alike)
const zAdd = defineTask('types.zadd', { args: z.tuple([z.number(), z.number()]), result: z.number(), params: ['x', 'y'] });
const vGreet = defineTask('types.vgreet', { kwargs: v.object({ name: v.string() }), result: v.string(), queue: 'greetings' });
const zArgs: ArgsOf<typeof zAdd> = [1, 2];
const zResult: ResultOf<typeof zAdd> = 3;
const vKwargs: KwargsOf<typeof vGreet> = { name: 'Ada' };
// @ts-expect-error the zod args schema is a tuple of numbers
const zBadArgs: ArgsOf<typeof zAdd> = ['1', 2];
// @ts-expect-error the zod result schema is a number
const zBadResult: ResultOf<typeof zAdd> = '3';
// @ts-expect-error the valibot kwargs schema needs a string name
const vBadKwargs: KwargsOf<typeof vGreet> = { name: 1 };
void [vGreet, zArgs, zResult, vKwargs, zBadArgs, zBadResult, vBadKwargs];

export async function schemaClientSide(client: CeleryClient): Promise<void> {
  const sum: number = await lastValueFrom(client.call(zAdd, [1, 2]));
  // @ts-expect-error '2' where the schema wants a number
  client.call(zAdd, ['2', 3]);
  void sum;
}

export class SchemaHandlers {
  @CeleryTask(zAdd)
  add(x: number, y: number): number {
    return x + y;
  }

  // @ts-expect-error the result schema is a number
  @CeleryTask(zAdd)
  addText(x: number, y: number): string {
    return `${x + y}`;
  }
}
