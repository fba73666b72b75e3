import { TaskAbort } from './task-abort.js';

describe('TaskAbort (lazy AbortController)', () => {
  test('a signal read before the abort fires its listeners with the reason', () => {
    const abort = new TaskAbort();
    const seen: unknown[] = [];
    abort.signal.addEventListener('abort', () => seen.push(abort.signal.reason));
    const reason = new Error('soft limit');
    abort.abort(reason);
    expect(seen).toEqual([reason]);
    expect(abort.aborted).toBe(true);
    expect(abort.reason).toBe(reason);
  });

  test('a signal first read after the abort is already aborted, with the first reason', () => {
    const abort = new TaskAbort();
    const first = new Error('terminated');
    abort.abort(first);
    abort.abort(new Error('later'));
    expect(abort.signal.aborted).toBe(true);
    expect(abort.signal.reason).toBe(first);
  });

  test('unaborted: nothing allocated until asked, then a live signal', () => {
    const abort = new TaskAbort();
    expect(abort.aborted).toBe(false);
    expect(abort.reason).toBeUndefined();
    expect(abort.signal.aborted).toBe(false);
  });
});
