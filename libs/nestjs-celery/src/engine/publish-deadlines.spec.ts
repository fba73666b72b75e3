import { PublishDeadlines } from './publish-deadlines.js';
import { PublishTimeoutError } from './errors.js';

describe('PublishDeadlines', () => {
  test('passes confirmations and failures through, and fails what is not confirmed in time', async () => {
    const deadlines = new PublishDeadlines(150);
    await expect(deadlines.track(Promise.resolve('ok'), () => new Error('late'))).resolves.toBe('ok');
    await expect(deadlines.track(Promise.reject(new Error('nack')), () => new Error('late'))).rejects.toThrow('nack');
    const started = Date.now();
    await expect(deadlines.track(new Promise(() => undefined), () => new Error('late'))).rejects.toThrow('late');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });
});

describe('PublishTimeoutError', () => {
  test('PublishTimeoutError says whether the message may still be queued', () => {
    expect(new PublishTimeoutError('a', 10, false).message).toMatch(/will not be sent/);
    expect(new PublishTimeoutError('a', 10, true).message).toMatch(/may still be queued/);
    expect(new PublishTimeoutError('a', 10).mayHaveBeenSent).toBe(true);
  });
});
