import { expect } from '@jest/globals';
import { silentLogger, type CeleryLogger } from '../../common/logger.js';
import { MemoryBackend } from '../../transport/memory/memory.backend.js';
import { MemoryBroker } from '../../transport/memory/memory.broker.js';
import { Celery } from '../celery.js';
import { Worker, type WorkerOptions } from './worker.js';

let seq = 0;
function vhostName() {
  return `unknown-spec-${process.pid}-${++seq}`;
}
function worker(name: string, options: WorkerOptions = {}) {
  const app = new Celery({ broker: new MemoryBroker(`memory://${name}`), backend: new MemoryBackend(`memory://${name}`), logger: silentLogger });
  return { app, worker: new Worker(app, { logger: silentLogger, ...options }), broker: app.broker as MemoryBroker };
}
function recording(): CeleryLogger & { lines: string[] } {
  const lines: string[] = [];
  const push = (m: string) => void lines.push(m);
  return { lines, log: push, warn: push, error: push, debug: () => undefined };
}

describe('unknown-task policies (memory transport)', () => {
  test('requeue: held with growing delays, never lost; a worker that has the task runs it', async () => {
    const name = vhostName();
    const logger = recording();
    const lacking = worker(name, { unknownTask: 'requeue', unknownTaskBackoffMs: { initialMs: 20, maxMs: 80 }, logger });
    await lacking.worker.start();
    const result = await lacking.app.sendTask('t.add', [1, 2]);
    await new Promise((r) => setTimeout(r, 400));
    const seen = logger.lines.map((l) => Number(/seen (\d+) time/.exec(l)?.[1])).filter((n) => n > 0);
    // held 0, 20, 40, 80, 80 … ms: about 8 sightings in 400 ms, logged at 1, 2, 4 (8); a hot loop: thousands
    expect(seen.slice(0, 3)).toEqual([1, 2, 4]);
    expect(Math.max(...seen)).toBeLessThan(16);
    expect(await result.state()).toBe('PENDING');
    const having = worker(name);
    having.worker.register('t.add', ([x, y]) => (x as number) + (y as number));
    await having.worker.start();
    await expect(result.get({ timeout: 1000 })).resolves.toBe(3);
    await lacking.worker.stop();
    await having.worker.stop();
    await lacking.app.close();
  });

  test('requeue: a message held at stop goes back to the queue at once', async () => {
    const { app, worker: w, broker } = worker(vhostName(), { unknownTask: 'requeue', unknownTaskBackoffMs: { initialMs: 60_000 } });
    await w.start();
    await app.sendTask('t.unknown');
    await new Promise((r) => setTimeout(r, 50)); // seen twice: now held for a minute
    expect(broker.vhost.depth('celery')).toBe(0);
    const started = Date.now();
    await w.stop();
    expect(Date.now() - started).toBeLessThan(20_000); // not the minute it was held for
    expect(broker.vhost.depth('celery')).toBe(1);
    await app.close();
  });

  test('dead-letter: the message moves unchanged (plus a reason header) to the named queue; nothing is stored', async () => {
    const { app, worker: w, broker } = worker(vhostName(), { unknownTask: 'dead-letter', deadLetterQueue: 'parked' });
    await w.start();
    const result = await app.sendTask('t.unknown', [1], { k: 'v' });
    await new Promise((r) => setTimeout(r, 30));
    expect(broker.vhost.depth('parked')).toBe(1);
    expect(broker.vhost.depth('celery')).toBe(0);
    const parked = broker.vhost.queues.get('parked')!.messages.at(0)!.message;
    expect(parked.headers).toMatchObject({ id: result.id, task: 't.unknown', 'x-dead-letter-reason': expect.stringContaining('NotRegistered') });
    expect(JSON.parse(parked.body.toString())).toEqual([[1], { k: 'v' }, { callbacks: null, errbacks: null, chain: null, chord: null }]);
    expect(await result.state()).toBe('PENDING');
    await w.stop();
    await app.close();
  });
});
