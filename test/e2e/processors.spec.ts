/**
 * @CeleryProcessor (memory transport): a class's @CeleryTask methods run under the class's name prefix
 * with its shared options, a method's own options win, contracts keep their names, discovery unchanged.
 */
import { Controller, Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { CeleryClient, CeleryModule, CeleryProcessor, CeleryTask, CeleryTaskError, defineTask } from 'nestjs-celery';
import { memoryUrls } from './support/memory-urls.js';

const pingTask = defineTask<[], string>('contracts.ping');
// unref: the slow task outlives its time limit, and must not hold the process open
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());
const attempts = new Map<string, number>();

class Flaky extends Error {}

@Injectable()
@CeleryProcessor('billing', { timeLimit: 1, autoretryFor: [Flaky], maxRetries: 1, defaultRetryDelay: 0 })
class BillingTasks {
  @CeleryTask('charge')
  charge(amount: number): string {
    return `charged ${amount}`;
  }

  /** the class's 1 s hard limit applies */
  @CeleryTask('slow')
  async slow(): Promise<string> {
    await sleep(3000);
    return 'slow done';
  }

  /** the method's own limit overrides the class's */
  @CeleryTask('patient', { timeLimit: 20 })
  async patient(): Promise<string> {
    await sleep(1500);
    return 'patient done';
  }

  /** fails with Flaky every time: the class's autoretry with maxRetries 1 gives two attempts */
  @CeleryTask('flaky')
  flaky(key: string): never {
    attempts.set(key, (attempts.get(key) ?? 0) + 1);
    throw new Flaky(key);
  }

  /** a contract is the wire name: no prefix */
  @CeleryTask(pingTask)
  ping(): string {
    return 'pong';
  }
}

@Controller()
@CeleryProcessor({ prefix: 'shop.orders' })
class OrdersController {
  @CeleryTask('place')
  place(id: string): string {
    return `placed ${id}`;
  }
}

describe('@CeleryProcessor (memory transport)', () => {
  let moduleRef: TestingModule;
  let client: CeleryClient;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [CeleryModule.forRoot({ ...memoryUrls('processors'), worker: { concurrency: 4 } })],
      providers: [BillingTasks],
      controllers: [OrdersController],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
    client = moduleRef.get(CeleryClient);
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  const send = <T>(name: string, args: unknown[] = []) => lastValueFrom(client.send<T>(name, args));
  const failureOf = (name: string, args: unknown[] = []) =>
    send(name, args).then(
      () => undefined,
      (e: unknown) => e as CeleryTaskError,
    );

  test('methods are registered under the prefix, on providers and controllers alike; a contract keeps its name', async () => {
    await expect(send('billing.charge', [5])).resolves.toBe('charged 5');
    await expect(send('shop.orders.place', ['o-1'])).resolves.toBe('placed o-1');
    await expect(send(pingTask.name)).resolves.toBe('pong');
    await expect(client.sendTask('charge', [5]).then((r) => r.get({ timeout: 20_000 }))).rejects.toMatchObject({ excType: 'NotRegistered' });
  }, 60_000);

  test("the class's options apply to every method, and a method's own option overrides them", async () => {
    const [slow, patient] = await Promise.all([failureOf('billing.slow'), send('billing.patient')]);
    expect(slow).toBeInstanceOf(CeleryTaskError);
    expect(slow).toMatchObject({ excType: 'TimeLimitExceeded' });
    expect(patient).toBe('patient done');
  }, 60_000);

  test("the class's retry policy applies: autoretry for its error class, maxRetries attempts after the first", async () => {
    const error = await failureOf('billing.flaky', ['k1']);
    expect(error).toBeInstanceOf(CeleryTaskError);
    expect(attempts.get('k1')).toBe(2);
  }, 60_000);

  test('a prefix that is not a dotted name is refused where the class is declared', () => {
    expect(() => CeleryProcessor('bad prefix')).toThrow(/dotted name without spaces/);
    expect(() => CeleryProcessor({ prefix: 'trailing.' })).toThrow(/dotted name/);
  });
});
