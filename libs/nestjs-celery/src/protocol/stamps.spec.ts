import { matchRevokedStamp, mergeStamps, stampsFromHeaders, stampsFromOptions } from './stamps.js';
import { createTaskMessage, decodeTaskMessage } from './task-message.js';

describe('stamps', () => {
  test('a message without stamps has none, and writes no stamp headers (Celery 5.2 shape kept)', () => {
    const message = createTaskMessage({ id: 'a', task: 't', replyTo: 'r' });
    expect(message.headers).not.toHaveProperty('stamped_headers');
    const request = decodeTaskMessage(message.headers, message.properties, message.body);
    expect(request.stamps).toEqual({});
    expect(request.stampedHeaders).toEqual([]);
  });

  test('stamps round-trip as as_task_v2 writes them: stamped_headers + stamps', () => {
    const message = createTaskMessage({ id: 'a', task: 't', replyTo: 'r', stamps: { trace: 'x', teams: ['a', 'b'] } });
    expect(message.headers.stamped_headers).toEqual(['trace', 'teams']);
    expect(message.headers.stamps).toEqual({ trace: 'x', teams: ['a', 'b'] });
    expect(decodeTaskMessage(message.headers, message.properties, message.body).stamps).toEqual({ trace: 'x', teams: ['a', 'b'] });
  });

  test('only the names listed in stamped_headers count; bad shapes read as no stamps', () => {
    expect(stampsFromHeaders({ stamped_headers: ['a'], stamps: { a: 1, b: 2 } }).stamps).toEqual({ a: 1 });
    expect(stampsFromHeaders({ stamped_headers: ['a'], stamps: 'nope' }).stamps).toEqual({ a: null });
    expect(stampsFromHeaders({ stamped_headers: 42 }).stampedHeaders).toEqual([]);
    expect(stampsFromOptions({ stamped_headers: ['a'], a: 1, queue: 'q' })).toEqual({ a: 1 });
  });

  test('merge: new value wins, or both kept with appendStamps', () => {
    expect(mergeStamps({ a: 1, b: 2 }, { a: 3 })).toEqual({ a: 3, b: 2 });
    expect(mergeStamps({ a: 1 }, { a: 3 }, true)).toEqual({ a: [3, 1] });
  });

  test('revoked stamps match a value or any value of a list', () => {
    const revoked = new Map<string, unknown[]>([['trace', ['x', 'y']]]);
    expect(matchRevokedStamp({ trace: 'y' }, revoked)).toEqual({ name: 'trace', value: 'y' });
    expect(matchRevokedStamp({ trace: ['z', 'x'] }, revoked)).toEqual({ name: 'trace', value: 'x' });
    expect(matchRevokedStamp({ trace: 'z', other: 'x' }, revoked)).toBeUndefined();
  });
});
