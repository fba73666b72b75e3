/**
 * Runtime-validated contracts (memory transport): defineTask with zod 4 and valibot schemas; the client
 * refuses a bad call before publishing, the worker stores FAILURE TypeError naming the field, results
 * are checked, schema output reaches the handler; class-validator DTOs through Nest's ValidationPipe.
 */
import { Injectable, ValidationPipe } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { IsInt, IsString, Min } from 'class-validator';
import { lastValueFrom } from 'rxjs';
import * as v from 'valibot';
import { z } from 'zod';
import { CeleryClient, CeleryModule, CeleryTask, CeleryTaskError, Kwargs, PyTypeError, TaskValidationError, defineTask } from 'nestjs-celery';
import { memoryUrls } from './support/memory-urls.js';

const addTask = defineTask('schemas.add', { args: z.tuple([z.number(), z.number()]), result: z.number(), params: ['x', 'y'] });
const vaddTask = defineTask('schemas.vadd', { args: v.tuple([v.number(), v.number()]), result: v.number() });
const greetTask = defineTask('schemas.greet', { kwargs: z.object({ name: z.string().min(1), times: z.number().int().optional() }), result: z.string() });
const brokenTask = defineTask('schemas.broken', { result: z.object({ total: z.number() }) });
const coerceTask = defineTask('schemas.coerce', { args: z.tuple([z.coerce.number()]) });

/** A class-validator DTO, checked by Nest's ValidationPipe on @Kwargs(). */
class InvoiceDto {
  @IsString()
  customer!: string;

  @IsInt()
  @Min(1)
  amount!: number;
}

/**
 * The pipe as the README shows it: validateCustomDecorators (@Kwargs is a custom decorator),
 * transform (the method gets an InvoiceDto), and Python's TypeError listing the constraints.
 */
const invoicePipe = new ValidationPipe({
  expectedType: InvoiceDto,
  transform: true,
  validateCustomDecorators: true,
  exceptionFactory: (errors) => new PyTypeError(errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; ')),
});

const ran: string[] = [];

@Injectable()
class SchemaTasks {
  @CeleryTask(addTask)
  add(x: number, y: number): number {
    ran.push(`add ${x} ${y}`);
    return x + y;
  }

  @CeleryTask(vaddTask)
  vadd(x: number, y: number): number {
    ran.push(`vadd ${x} ${y}`);
    return x + y;
  }

  // optional as the contract's method shape has it (positional args, then kwargs when sent)
  @CeleryTask(greetTask)
  greet(@Kwargs() kwargs?: { name: string; times?: number }): string {
    return `hello ${kwargs?.name}`.repeat(kwargs?.times ?? 1);
  }

  @CeleryTask(brokenTask)
  broken(): { total: number } {
    return { total: 'many' } as unknown as { total: number };
  }

  @CeleryTask(coerceTask)
  coerce(x: unknown): string {
    return typeof x;
  }

  @CeleryTask('schemas.invoice')
  invoice(@Kwargs(invoicePipe) invoice: InvoiceDto): string {
    return `${invoice.customer}: ${invoice.amount} (${invoice.constructor.name})`;
  }
}

describe('validated task contracts (memory transport)', () => {
  let moduleRef: TestingModule;
  let client: CeleryClient;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [CeleryModule.forRoot({ ...memoryUrls('schemas'), worker: { concurrency: 1 } })],
      providers: [SchemaTasks],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    client = moduleRef.get(CeleryClient);
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  const failureOf = (name: string, payload: unknown) =>
    lastValueFrom(client.send(name, payload)).then(
      (value) => ({ value }),
      (e: unknown) => e as CeleryTaskError,
    );

  test('a valid call runs, typed from the schemas', async () => {
    await expect(lastValueFrom(client.call(addTask, [2, 3]))).resolves.toBe(5);
    await expect(lastValueFrom(client.call(vaddTask, [2, 3]))).resolves.toBe(5);
    await expect(lastValueFrom(client.call(greetTask, [], { name: 'Ada', times: 2 }))).resolves.toBe('hello Adahello Ada');
    // keywords are bound to params before the args schema checks them, as the worker binds them
    await expect(client.sendTask(addTask, [] as never, { x: 4, y: 5 } as never).then((r) => r.get({ timeout: 20_000 }))).resolves.toBe(9);
  }, 60_000);

  test('the client refuses a bad call before publishing: TaskValidationError naming the field', async () => {
    const before = ran.length;
    const error = await client.sendTask(addTask, ['2' as never, 3]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskValidationError);
    expect(error).toMatchObject({
      excType: 'TypeError',
      excModule: 'builtins',
      message: "add() argument 'x': Invalid input: expected number, received string",
    });
    expect((error as TaskValidationError).issues[0]?.path).toEqual([0]);
    await expect(lastValueFrom(client.call(vaddTask, [1, 'y' as never]))).rejects.toThrow(
      /^vadd\(\) argument 'args\[1\]': Invalid type: Expected number but received "y"$/,
    );
    // a call Python would refuse is refused the same way before publishing
    await expect(client.sendTask(addTask, [1, 2], { x: 3 } as never)).rejects.toThrow("add() got multiple values for argument 'x'");
    // nothing was published: the worker (concurrency 1, FIFO) ran only the valid call sent after them
    await expect(lastValueFrom(client.call(addTask, [1, 1]))).resolves.toBe(2);
    expect(ran.slice(before)).toEqual(['add 1 1']);
  }, 60_000);

  test('the worker refuses a bad call sent by name (as a Python client sends it): FAILURE TypeError naming the field, handler not run', async () => {
    const before = ran.length;
    const bad = await failureOf('schemas.add', ['2', 3]);
    expect(bad).toBeInstanceOf(CeleryTaskError);
    expect(bad).toMatchObject({
      excType: 'TypeError',
      excModule: 'builtins',
      excMessage: ["add() argument 'x': Invalid input: expected number, received string"],
    });
    const both = await failureOf('schemas.add', { x: 'a', y: null });
    expect((both as CeleryTaskError).excMessage).toEqual([
      "add() argument 'x': Invalid input: expected number, received string; add() argument 'y': Invalid input: expected number, received null",
    ]);
    const vbad = await failureOf('schemas.vadd', [1]);
    expect((vbad as CeleryTaskError).excMessage).toEqual(["vadd() argument 'args[1]': Invalid type: Expected number but received undefined"]);
    const kwbad = await failureOf('schemas.greet', { name: '', times: 1.5 });
    expect(kwbad).toMatchObject({ excType: 'TypeError', excModule: 'builtins' });
    expect(String((kwbad as CeleryTaskError).excMessage[0])).toMatch(
      /^greet\(\) argument 'name': Too small: .*; greet\(\) argument 'times': Invalid input: expected int, received number$/,
    );
    expect(ran.slice(before)).toEqual([]);
  }, 60_000);

  test("a result the schema refuses is a FAILURE TypeError naming the result's field", async () => {
    const error = await failureOf(brokenTask.name, []);
    expect(error).toMatchObject({
      excType: 'TypeError',
      excModule: 'builtins',
      excMessage: ["broken() result 'total': Invalid input: expected number, received string"],
    });
  }, 60_000);

  test("the handler gets the schema's output (coercion applied)", async () => {
    await expect(lastValueFrom(client.send(coerceTask.name, ['42']))).resolves.toBe('number');
  }, 60_000);

  test('class-validator DTOs keep working through ValidationPipe on @Kwargs()', async () => {
    await expect(lastValueFrom(client.send('schemas.invoice', { customer: 'acme', amount: 3 }))).resolves.toBe('acme: 3 (InvoiceDto)');
    const error = await failureOf('schemas.invoice', { customer: 'acme', amount: 0 });
    expect(error).toBeInstanceOf(CeleryTaskError);
    expect(error).toMatchObject({ excType: 'TypeError', excModule: 'builtins', excMessage: ['amount must not be less than 1'] });
  }, 60_000);

  test('a schema that is not a Standard Schema is refused by defineTask', () => {
    expect(() => defineTask('schemas.wrong', { args: { parse: () => [] } as never })).toThrow(/args must be a Standard Schema validator/);
  });

  test('the message a schema library writes is bounded', async () => {
    const many = defineTask('schemas.many', { kwargs: z.object(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`field_${i}`, z.number()]))) });
    const error = (await client.sendTask(many, [], {}).catch((e: unknown) => e)) as TaskValidationError;
    expect(error).toBeInstanceOf(TaskValidationError);
    expect(error.issues).toHaveLength(50);
    expect(error.message.split('; ')).toHaveLength(6);
    expect(error.message).toMatch(/; and 45 more$/);
  });
});
