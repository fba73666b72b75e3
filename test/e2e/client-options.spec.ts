/**
 * CeleryClient task options are an explicit argument (memory transport): a payload such as a
 * request body forwarded by an API can never set queue, taskId or link; unknown option keys
 * are refused with InvalidTaskOptionsError.
 */
import { lastValueFrom } from 'rxjs';
import { CeleryClient, InvalidTaskOptionsError, Worker, defineTask } from 'nestjs-celery';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { memoryUrls } from './support/memory-urls.js';

const TIMEOUT = 60_000;

interface Echo {
  args: unknown[];
  kwargs: Record<string, unknown>;
  id: string;
  queue: string;
}

describe('CeleryClient: task options only from the options argument', () => {
  let client: CeleryClient;
  let worker: Worker;
  const linked: string[] = [];

  beforeAll(async () => {
    client = new CeleryClient({ ...memoryUrls('client-options'), logger: silentLogger });
    await client.connect();
    worker = new Worker(client.unwrap(), { queues: ['celery', 'other'], concurrency: 2, logger: silentLogger });
    worker.register('opts.echo', (args, kwargs, ctx): Echo => ({ args, kwargs, id: ctx.id, queue: ctx.deliveryInfo.queue }));
    worker.register('opts.linked', (args, _kwargs, ctx) => {
      linked.push(ctx.id);
      return args;
    });
    await worker.start();
  }, TIMEOUT);

  afterAll(async () => {
    await worker?.stop();
    await client?.close();
  }, TIMEOUT);

  const echo = (data: unknown, options?: Parameters<CeleryClient['send']>[2]) => lastValueFrom(client.send<Echo>('opts.echo', data, options));

  test(
    'a request body with option-like keys is only kwargs: queue, taskId and link are not applied',
    async () => {
      const body = { name: 'Ada', queue: 'other', taskId: 'chosen-by-caller', link: [{ task: 'opts.linked', args: [], kwargs: {}, options: {} }] };
      const result = await echo(body);
      expect(result.kwargs).toEqual(body);
      expect(result.queue).toBe('celery');
      expect(result.id).not.toBe('chosen-by-caller');
      // the link would have run by now if it had been applied: one more round trip after the echo
      await echo([]);
      expect(linked).toEqual([]);
    },
    TIMEOUT,
  );

  test(
    'the old { args, options } payload form is refused, nothing is sent',
    async () => {
      const err = await echo({ args: [1], options: { queue: 'other', taskId: 'x' } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidTaskOptionsError);
      expect((err as Error).message).toMatch(/not read from the payload.*third argument/);
      await expect(lastValueFrom(client.emit('opts.echo', { kwargs: {}, options: {} }), { defaultValue: undefined })).rejects.toBeInstanceOf(
        InvalidTaskOptionsError,
      );
      await expect(client.asyncResult('x').state()).resolves.toBe('PENDING');
    },
    TIMEOUT,
  );

  test(
    'options given as the third argument apply (send, sendWithStates, call)',
    async () => {
      const taskId = `explicit-${Date.now()}`;
      await expect(echo({ args: [1], kwargs: { y: 2 } }, { queue: 'other', taskId })).resolves.toEqual({
        args: [1],
        kwargs: { y: 2 },
        id: taskId,
        queue: 'other',
      });
      const contract = defineTask<[number], Echo>('opts.echo');
      await expect(lastValueFrom(client.call(contract, [3], {}, { queue: 'other' }))).resolves.toMatchObject({ args: [3], queue: 'other' });
      const last = await lastValueFrom(client.sendWithStates<Echo>('opts.echo', [4], { queue: 'other' }));
      expect(last).toMatchObject({ ready: true, result: { args: [4], queue: 'other' } });
    },
    TIMEOUT,
  );

  test(
    'unknown option keys are refused with a clear error, Celery spellings get a hint',
    async () => {
      await expect(echo([1], { task_id: 'a' } as never)).rejects.toThrow(/unknown task option "task_id" \(did you mean "taskId"\?\)/);
      await expect(echo([1], { routing_key: 'x', bogus: 1 } as never)).rejects.toThrow(
        /unknown task options "routing_key" \(did you mean "routingKey"\?\), "bogus"; known options: taskId/,
      );
      await expect(lastValueFrom(client.emit('opts.echo', [1], { nope: true } as never), { defaultValue: undefined })).rejects.toBeInstanceOf(
        InvalidTaskOptionsError,
      );
      await expect(client.sendTask('opts.echo', [1], {}, { countdwn: 5 } as never)).rejects.toBeInstanceOf(InvalidTaskOptionsError);
      await expect(client.unwrap().sendTask('opts.echo', [1], {}, 'queue' as never)).rejects.toThrow(/task options must be an object/);
      expect(() => defineTask('opts.echo', { queu: 'other' } as never)).toThrow(InvalidTaskOptionsError);
    },
    TIMEOUT,
  );
});
