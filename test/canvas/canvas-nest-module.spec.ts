/**
 * Canvas built in Python reaches `@CeleryTask` handlers of a Nest app (CeleryModule worker over
 * RabbitMQ with the Redis backend): a chain, a map (celery.map calls the Nest handler in-process),
 * a native chord, and a chain step failing in Nest.
 */
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Args, CeleryModule, CeleryTask, ValueError } from 'nestjs-celery';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { deleteQueues } from '../support/cleanup.js';
import { AMQP_URL, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';
import { s, si } from './support/canvas-description.js';
import { pythonCanvas } from './support/python-canvas.js';

const describeNest = await describeIfAvailable('canvas into Nest @CeleryTask handlers', 'redis', 'rabbitmq', 'python-celery');

@Injectable()
class CanvasTasks {
  @CeleryTask('nest.add')
  add(@Args() values: number[]): number {
    return values.reduce((a, b) => a + b, 0);
  }

  @CeleryTask('nest.double')
  async double(x: number): Promise<number> {
    return x * 2;
  }

  @CeleryTask('nest.tsum')
  tsum(values: number[]): number {
    return values.reduce((a, b) => a + b, 0);
  }

  @CeleryTask('nest.fail')
  fail(x: number): never {
    throw new ValueError(`nest refused ${x}`);
  }
}

describeNest('canvas built in Python runs on Nest @CeleryTask handlers', () => {
  const queue = uniqueName('canvas.nest');
  let moduleRef: TestingModule;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        CeleryModule.forRoot({
          broker: AMQP_URL,
          backend: REDIS_URL,
          taskDefaultQueue: queue,
          resultExpires: 3600,
          logger: silentLogger,
          worker: { queues: [queue] },
        }),
      ],
      providers: [CanvasTasks],
    }).compile();
    moduleRef.useLogger(false);
    await moduleRef.init();
  }, 30_000);

  afterAll(async () => {
    await moduleRef?.close();
    await deleteQueues(AMQP_URL, [queue]);
  });

  test('chain, map, chord and a failing step reach the Nest handlers', async () => {
    const [chained, mapped, chorded, failed] = await pythonCanvas({ broker: AMQP_URL, backend: REDIS_URL, queue }, [
      { canvas: { chain: [s('nest.add', 1, 2), s('nest.double'), si('nest.add', 5, 5), s('nest.double')] } },
      { canvas: { map: s('nest.double'), it: [1, 2, 3] } },
      { canvas: { chord: [s('nest.add', 1, 1), s('nest.double', 5)], body: s('nest.tsum') } },
      { canvas: { chain: [s('nest.add', 1, 1), s('nest.fail'), s('nest.double')] } },
    ]);
    expect(chained).toMatchObject({ ok: true, value: 20 });
    expect(chained.parents.map((p) => p.state)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(mapped).toMatchObject({ ok: true, value: [2, 4, 6] });
    expect(chorded).toMatchObject({ ok: true, value: 12 });
    expect(failed).toMatchObject({ ok: false, exc_type: 'ValueError', exc_args: ['nest refused 2'] });
    expect(failed.parents.map((p) => p.state)).toEqual(['FAILURE', 'SUCCESS']);
  }, 60_000);
});
