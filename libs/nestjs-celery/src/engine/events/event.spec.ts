import { createEvent, eventExchange, groupOf, routingKeyOf, utcoffset } from './event.js';
import { LamportClock } from './lamport-clock.js';
import { exceptionRepr, taskReceivedFields } from './task-events.js';
import { decodeTaskMessage, createTaskMessage } from '../../protocol/task-message.js';

describe('Celery events on the wire', () => {
  test("body keys in Celery's order: hostname, utcoffset, pid, clock, fields…, timestamp (float seconds), type", () => {
    const event = createEvent('worker-heartbeat', { freq: 2, active: 0 }, { hostname: 'n@h', pid: 7, clock: 3 }, 1_700_000_000_123.5);
    expect(Object.keys(event)).toEqual(['hostname', 'utcoffset', 'pid', 'clock', 'freq', 'active', 'timestamp', 'type']);
    expect(event).toMatchObject({ hostname: 'n@h', pid: 7, clock: 3, timestamp: 1_700_000_000.1235, type: 'worker-heartbeat' });
  });

  test('utcoffset is whole hours west of UTC, floored like Python time.timezone // 3600', () => {
    const at = (minutes: number) => utcoffset({ getTimezoneOffset: () => minutes } as Date);
    expect(at(0)).toBe(0);
    expect(at(-120)).toBe(-2); // UTC+2
    expect(at(300)).toBe(5); // UTC-5
    expect(at(-330)).toBe(-6); // UTC+5:30: -19800 // 3600 == -6
  });

  test('routing keys, groups and the celeryev exchange per broker', () => {
    expect(routingKeyOf('task-succeeded')).toBe('task.succeeded');
    expect(groupOf('worker-heartbeat')).toBe('worker');
    expect(eventExchange({ topicExchanges: true })).toEqual({ name: 'celeryev', type: 'topic', durable: true, autoDelete: false });
    expect(eventExchange({ topicExchanges: false }).type).toBe('fanout');
  });

  test("kombu's Lamport clock: forward counts, adjust jumps past the peer", () => {
    const clock = new LamportClock();
    expect(clock.forward()).toBe(1);
    expect(clock.adjust(10)).toBe(11);
    expect(clock.adjust(3)).toBe(12);
    expect(clock.adjust('junk')).toBe(13);
  });

  test("exception reprs are Python's repr(exc)", () => {
    expect(exceptionRepr({ exc_type: 'ValueError', exc_message: ['bad'], exc_module: 'builtins' })).toBe("ValueError('bad')");
    expect(exceptionRepr({ exc_type: 'KeyError', exc_message: ['k', 1], exc_module: 'builtins' })).toBe("KeyError('k', 1)");
    expect(exceptionRepr({ exc_type: 'Exception', exc_message: [], exc_module: 'builtins' })).toBe('Exception()');
  });

  test('task-received carries the reprs, ids, retries and ISO eta/expires', () => {
    const eta = new Date('2030-01-02T03:04:05.678Z');
    const message = createTaskMessage({ id: 'i1', task: 't', args: [1, 'a'], kwargs: { k: true }, eta, replyTo: 'r', origin: 'o' });
    const request = decodeTaskMessage(message.headers, message.properties, message.body);
    expect(taskReceivedFields(request)).toEqual({
      uuid: 'i1',
      name: 't',
      args: "(1, 'a')",
      kwargs: "{'k': True}",
      root_id: 'i1',
      parent_id: null,
      retries: 0,
      eta: '2030-01-02T03:04:05.678000+00:00',
      expires: null,
    });
  });
});
