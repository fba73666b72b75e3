/**
 * How to test your own Celery tasks — a file to copy into your app (change the imports of your
 * services). No broker, no Python: `memory://` is an in-process broker and result backend with
 * the real ones' semantics, and each test names its own (`memory://<name>`) so tests never share
 * queues. Three levels: the task method alone; the task through Celery (arguments, results,
 * failures, PROGRESS states) in a Test.createTestingModule app; and code that *sends* tasks to
 * workers you don't run here (Python ones), with a stand-in worker on the same memory broker.
 */
import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Args, CeleryClient, CeleryModule, CeleryTask, CeleryTaskError, TaskContext, ValueError, Worker, defineTask } from 'nestjs-celery';
import { lastValueFrom, toArray } from 'rxjs';

// ---- the code under test (in your app: your own services and contracts) ----

/** A dependency the task uses: the tests replace it with Nest's overrideProvider. */
@Injectable()
export class PriceList {
  price(sku: string): number {
    throw new Error(`no price for ${sku} outside production`);
  }
}

/** Task contracts shared by the worker and its callers; `params` lets kwargs bind by name, as in Python. */
export const quoteTask = defineTask<[sku: string, quantity: number], number>('shop.quote', { params: ['sku', 'quantity'] });
export const chargeTask = defineTask<[customer: string, amount: number], string>('billing.charge');

@Injectable()
export class ShopTasks {
  constructor(private readonly prices: PriceList) {}

  @CeleryTask(quoteTask)
  quote(sku: string, quantity: number): number {
    if (quantity <= 0) throw new ValueError(`quantity must be positive, got ${quantity}`);
    return this.prices.price(sku) * quantity;
  }

  @CeleryTask('shop.restock', { params: ['items'] })
  async restock(@Args(0) items: string[], @TaskContext() task: TaskContext): Promise<number> {
    for (let done = 1; done <= items.length; done++) await task.updateState('PROGRESS', { done, total: items.length });
    return items.length;
  }
}

/** Code that sends a task some other worker runs (a Python billing service, say). */
@Injectable()
export class Checkout {
  constructor(private readonly celery: CeleryClient) {}

  async pay(customer: string, amount: number): Promise<string> {
    return lastValueFrom(this.celery.call(chargeTask, [customer, amount], {}, { queue: 'billing' }));
  }
}

// ---- the tests ----

describe('a task method on its own', () => {
  test('is a plain method: call it with its dependencies', () => {
    const tasks = new ShopTasks({ price: () => 2.5 });
    expect(tasks.quote('apple', 4)).toBe(10);
    expect(() => tasks.quote('apple', 0)).toThrow(ValueError);
  });
});

describe('tasks through Celery, in a testing module on memory://', () => {
  let moduleRef: TestingModule;
  let celery: CeleryClient;
  let tests = 0;

  beforeEach(async () => {
    // a broker name of its own per test: nothing left over from another test can reach this one
    const url = `memory://shop-${++tests}`;
    moduleRef = await Test.createTestingModule({
      // worker: true runs this module's @CeleryTask handlers, as a CeleryServer would
      imports: [CeleryModule.forRoot({ broker: url, backend: url, worker: true, logLevel: 'warn' })],
      providers: [ShopTasks, PriceList],
    })
      .overrideProvider(PriceList)
      .useValue({ price: (sku: string) => ({ apple: 2.5, pear: 4 })[sku] ?? 0 })
      .compile();
    await moduleRef.init(); // starts the worker
    celery = moduleRef.get(CeleryClient);
  });
  afterEach(async () => {
    await moduleRef.close(); // stops the worker and closes the connections
  });

  test('a typed call returns the result', async () => {
    await expect(lastValueFrom(celery.call(quoteTask, ['pear', 3]))).resolves.toBe(12);
  });

  test('kwargs bind by name, as a Python caller would send them', async () => {
    const result = await celery.sendTask('shop.quote', [], { sku: 'apple', quantity: 2 });
    await expect(result.get({ timeout: 10_000 })).resolves.toBe(5);
  });

  test('a failure reaches the caller as the Python exception a Python client would see', async () => {
    const failure: unknown = await lastValueFrom(celery.call(quoteTask, ['apple', -1])).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CeleryTaskError);
    expect(failure).toMatchObject({ excType: 'ValueError', excModule: 'builtins', excMessage: ['quantity must be positive, got -1'], state: 'FAILURE' });
  });

  test('PROGRESS states are seen before the result', async () => {
    const updates = await lastValueFrom(celery.sendWithStates('shop.restock', [['a', 'b', 'c']]).pipe(toArray()));
    expect(updates.filter((u) => !u.ready && u.state === 'PROGRESS').length).toBeGreaterThan(0);
    expect(updates[updates.length - 1]).toMatchObject({ ready: true, result: 3 });
  });
});

describe('code that sends tasks to workers that are not in this app', () => {
  test('a stand-in worker on the same memory broker records what was sent and answers', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CeleryModule.forRoot({ broker: 'memory://checkout', backend: 'memory://checkout', logLevel: 'warn' })],
      providers: [Checkout],
    }).compile();
    await moduleRef.init();
    // the stand-in consumes the queue the real (Python) worker would, on the client's own connection
    const standIn = new Worker(moduleRef.get(CeleryClient).unwrap(), { queues: ['billing'] });
    const sent: unknown[][] = [];
    standIn.register('billing.charge', (args) => (sent.push(args), `receipt-for-${String(args[0])}`));
    await standIn.start();
    try {
      await expect(moduleRef.get(Checkout).pay('ada', 42)).resolves.toBe('receipt-for-ada');
      expect(sent).toEqual([['ada', 42]]);
    } finally {
      await standIn.stop();
      await moduleRef.close();
    }
  });
});
