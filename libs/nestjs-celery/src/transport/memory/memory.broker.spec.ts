import type { Delivery, TransportMessage } from '../broker.interface.js';
import { MemoryBackend } from './memory.backend.js';
import { Backlog, MemoryBroker, MemoryVhost } from './memory.broker.js';
import { TOPIC_TABLE } from '../topic-match.table.js';
import { createResultMeta } from '../../protocol/result-meta.js';

const msg = (n: number, priority?: number): TransportMessage => ({
  body: Buffer.from(String(n)),
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  headers: {},
  properties: priority === undefined ? {} : { priority },
});
const numberOf = (d: Delivery) => Number(d.message.body.toString());
const turn = () => new Promise((r) => setImmediate(r));

describe('Backlog', () => {
  it('stays FIFO across the compaction of its consumed head, with unshift and ordered inserts', () => {
    const b = new Backlog<number>();
    for (let i = 0; i < 5000; i++) b.push(i);
    for (let i = 0; i < 3000; i++) expect(b.shift()).toBe(i);
    expect(b.length).toBe(2000);
    b.unshift(-1);
    b.insertBefore(-2, (x) => x > 4000);
    expect(b.at(0)).toBe(-1);
    expect(b.shift()).toBe(-1);
    const rest: number[] = [];
    for (let x = b.shift(); x !== undefined; x = b.shift()) rest.push(x);
    expect(rest).toEqual([...Array.from({ length: 1001 }, (_, i) => 3000 + i), -2, ...Array.from({ length: 999 }, (_, i) => 4001 + i)]);
    expect(b.length).toBe(0);
    expect(b.shift()).toBeUndefined();
  });
});

describe('MemoryBroker', () => {
  it('drains a large backlog in order through a prefetch window, a requeued delivery going back to the head', async () => {
    const broker = new MemoryBroker(`memory://backlog-${process.pid}-${Date.now()}`);
    await broker.connect();
    await broker.declareQueue({ name: 'q' });
    for (let i = 0; i < 20_000; i++) await broker.publish(msg(i), { exchange: '', routingKey: 'q' });
    const seen: number[] = [];
    let requeued = false;
    let settle!: () => void;
    const done = new Promise<void>((r) => (settle = r));
    await broker.consume(['q'], { prefetch: 10 }, (d) => {
      const n = numberOf(d);
      if (n === 5 && !requeued) {
        requeued = true;
        void d.reject(true);
        return;
      }
      seen.push(n);
      void d.ack();
      if (seen.length === 20_000) settle();
    });
    await done;
    expect(requeued).toBe(true);
    // every message exactly once; 5 came back after later ones were handed out, the rest in order
    expect([...seen].sort((x, y) => x - y)).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    const at5 = seen.indexOf(5);
    expect(at5).toBeGreaterThan(seen.indexOf(6));
    expect(at5).toBeLessThan(20); // at the head again, not behind the backlog
    const others = seen.filter((n) => n !== 5);
    expect(others).toEqual([...others].sort((x, y) => x - y));
    await broker.close();
  });

  it('delivers higher priorities first, FIFO among equals, on an x-max-priority queue', async () => {
    const broker = new MemoryBroker(`memory://prio-${process.pid}-${Date.now()}`);
    await broker.connect();
    await broker.declareQueue({ name: 'p', arguments: { 'x-max-priority': 5 } });
    const order: [number, number | undefined][] = [
      [1, 1],
      [2, 9],
      [3, 0],
      [4, 5],
      [5, 1],
      [6, undefined],
    ];
    for (const [n, p] of order) await broker.publish(msg(n, p), { exchange: '', routingKey: 'p' });
    const seen: number[] = [];
    await broker.consume(['p'], { prefetch: 100 }, (d) => {
      seen.push(numberOf(d));
      void d.ack();
    });
    await turn();
    // 9 is capped at the queue's 5, so it ties with 5 and keeps its place ahead of it
    expect(seen).toEqual([2, 4, 1, 5, 3, 6]);
    await broker.close();
  });
});

describe('MemoryVhost topic routing', () => {
  it('routes the shared topic table with AMQP semantics', () => {
    const vhost = new MemoryVhost();
    for (const [pattern, key, routes] of TOPIC_TABLE) {
      vhost.exchanges.set('t', { type: 'topic', bindings: [{ routingKey: pattern, queue: 'q' }] });
      expect([pattern, key, vhost.route({ exchange: 't', routingKey: key })]).toEqual([pattern, key, routes ? ['q'] : []]);
    }
  });
});

describe('MemoryBackend', () => {
  it("tells each watcher only its own task's states, and nothing after it unsubscribed", async () => {
    const backend = new MemoryBackend(`memory://watch-${process.pid}-${Date.now()}`);
    await backend.connect();
    const a: string[] = [];
    const b: string[] = [];
    const subA = backend.watch('a').subscribe((m) => a.push(m.status));
    const subB = backend.watch('b').subscribe((m) => b.push(m.status));
    await backend.store(createResultMeta('a', 'PROGRESS', { done: 1 }));
    await backend.store(createResultMeta('b', 'STARTED', null));
    subB.unsubscribe();
    await backend.store(createResultMeta('b', 'SUCCESS', 2));
    await backend.store(createResultMeta('a', 'SUCCESS', 1));
    expect(a).toEqual(['PROGRESS', 'SUCCESS']);
    expect(b).toEqual(['STARTED']);
    expect(subA.closed).toBe(true); // a ready state completes the watch
    // a late watcher gets the stored state at once
    const late: string[] = [];
    backend.watch('b').subscribe((m) => late.push(m.status));
    expect(late).toEqual(['SUCCESS']);
  });
});
