// A toy broker and result backend, defined only here, run a worker+client round trip: the
// engine follows their declared capabilities and never needs to know their names.
import { silentLogger } from '../common/logger.js';
import type { ExchangeDeclaration } from '../transport/broker.interface.js';
import { MemoryBackend } from '../transport/memory/memory.backend.js';
import { MemoryBroker } from '../transport/memory/memory.broker.js';
import { ChordsNotSupportedError, chord, s } from './canvas/index.js';
import { Celery } from './celery.js';
import { EventDispatcher } from './events/event-dispatcher.js';
import { Worker } from './worker/worker.js';

/** An in-process broker under another name, with no topic exchanges (so events go fanout). */
class ToyBroker extends MemoryBroker {
  override readonly kind = 'toy';
  override readonly capabilities = { topicExchanges: false, consumerTimeout: false, disablePrefetch: false, priorities: 'none' } as const;
  readonly exchanges: ExchangeDeclaration[] = [];
  override declareExchange(exchange: ExchangeDeclaration): Promise<void> {
    this.exchanges.push(exchange);
    return super.declareExchange(exchange);
  }
}

/** A result backend under another name that keeps no chord counters. */
class ToyBackend extends MemoryBackend {
  override readonly kind = 'toy';
  override readonly capabilities = { chords: false } as const;
}

let seq = 0;
function toyApp() {
  const url = `memory://toy-${process.pid}-${++seq}`;
  return new Celery({ broker: new ToyBroker(url), backend: new ToyBackend(url), logger: silentLogger });
}

describe('a toy driver declaring its own capabilities', () => {
  test('worker and client round trip on it', async () => {
    const app = toyApp();
    const worker = new Worker(app, { logger: silentLogger });
    worker.register('toy.add', ([x, y]) => (x as number) + (y as number));
    await worker.start();
    try {
      const result = await app.sendTask('toy.add', [2, 3]);
      await expect(result.get({ timeout: 10_000 })).resolves.toBe(5);
    } finally {
      await worker.stop();
      await app.close();
    }
  });

  test('no topic exchanges: celeryev is declared fanout', async () => {
    const app = toyApp();
    const broker = app.broker as ToyBroker;
    await new EventDispatcher(app, { hostname: 'toy@host' }).declare();
    expect(broker.exchanges).toContainEqual(expect.objectContaining({ name: 'celeryev', type: 'fanout' }));
    await app.close();
  });

  test('no chord counters: a chord is refused with the backend named', async () => {
    const app = toyApp();
    const refused = chord([s('toy.add', 1, 1)], s('toy.sum')).applyAsync(app);
    await expect(refused).rejects.toBeInstanceOf(ChordsNotSupportedError);
    await expect(refused).rejects.toThrow(/toy/);
    await app.close();
  });
});
