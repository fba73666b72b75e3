import { TaskQueues } from './task-queues.js';
import { ImproperlyConfiguredError } from './errors.js';

describe('TaskQueues: declarations as Celery makes them (celery/app/amqp.py Queues)', () => {
  test('defaults: classic queues carry no x-queue-type, direct exchanges', () => {
    const queues = new TaskQueues({}, 'celery');
    expect(queues.declaration('celery')).toEqual({ name: 'celery', exchange: 'celery', exchangeType: 'direct', routingKey: 'celery', durable: true });
    expect(queues.usesQuorumQueues).toBe(false);
  });

  test('default, missing and configured queues follow their own settings', () => {
    const queues = new TaskQueues(
      {
        taskDefaultQueueType: 'quorum',
        taskDefaultExchangeType: 'topic',
        taskCreateMissingQueueExchangeType: 'fanout',
        taskQueueMaxPriority: 5,
        taskQueues: { special: { exchange: 'ex', routingKey: 'rk', queueType: 'quorum', noDeclare: true } },
      },
      'celery',
    );
    expect(queues.declaration('celery')).toMatchObject({ exchangeType: 'topic', arguments: { 'x-queue-type': 'quorum', 'x-max-priority': 5 } });
    expect(queues.declaration('other')).toMatchObject({ exchangeType: 'fanout', arguments: { 'x-max-priority': 5 } });
    expect(queues.declaration('other').arguments).not.toHaveProperty('x-queue-type');
    expect(queues.declaration('special')).toMatchObject({ exchange: 'ex', routingKey: 'rk', exchangeType: 'topic', passive: true });
    expect(queues.usesQuorumQueues).toBe(true);
    expect(new TaskQueues({ taskDefaultQueueType: 'quorum', workerDetectQuorumQueues: false }, 'celery').usesQuorumQueues).toBe(false);
    expect(queues.settingFor('celery', 'x-queue-type')).toMatch(/taskDefaultQueueType/);
    expect(queues.settingFor('other', 'type')).toMatch(/taskCreateMissingQueueExchangeType/);
    expect(queues.settingFor('special', 'x-queue-type')).toBe("taskQueues['special'].queueType");
  });

  test('bad settings are a configuration error', () => {
    expect(() => new TaskQueues({ taskDefaultQueueType: 'stream' as never }, 'celery')).toThrow(ImproperlyConfiguredError);
    expect(() => new TaskQueues({ taskQueues: { q: { queueType: 'quorum', durable: false } } }, 'celery')).toThrow(/always durable/);
  });
});
