/**
 * Transport families load only when a URL names them (issue 13): a redis:// app's process never loads the AMQP
 * family's modules nor amqplib, an amqp:// one never the Redis family nor ioredis; a missing driver package is an
 * install hint on connect; and a family registered from outside the library works with no engine change.
 */
import { join } from 'node:path';
import { Celery, registerTransport, Worker, type TransportFamily } from '../../libs/nestjs-celery/src/engine/index.js';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { MemoryBackend, MemoryBroker } from '../../libs/nestjs-celery/src/transport/memory/index.js';
import { deleteQueues } from '../support/cleanup.js';
import { AMQP_URL, describeIfAvailable, REDIS_URL, uniqueName } from '../support/services.js';
import { runTsChild } from '../support/ts-child.js';

const TIMEOUT = 120_000;
const child = join(import.meta.dirname, 'lazy-families.child.ts');
const family = (files: string[], name: string) => files.filter((f) => f.startsWith(`libs/nestjs-celery/src/transport/${name}/`));

const describeRedis = await describeIfAvailable('lazy transport families (redis)', 'redis');
const describeAmqp = await describeIfAvailable('lazy transport families (amqp)', 'rabbitmq');

describeRedis('a redis:// app', () => {
  const queue = uniqueName('lazy-redis');
  afterAll(() => deleteQueues(REDIS_URL, [queue]));

  test(
    'runs a task loading the Redis family and ioredis, and nothing of the AMQP family nor amqplib',
    async () => {
      const run = await runTsChild<{ value: number; broker: string; backend: string }>(child, [REDIS_URL, REDIS_URL, queue]);
      expect(run.result).toEqual({ value: 5, broker: 'redis', backend: 'redis' });
      expect(family(run.files, 'redis')).toContain('libs/nestjs-celery/src/transport/redis/index.ts'); // the check sees a family that loads
      expect(run.packages).toContain('ioredis');
      expect(family(run.files, 'amqp')).toEqual([]);
      expect(run.packages).not.toContain('amqplib');
    },
    TIMEOUT,
  );
});

describeAmqp('an amqp:// app', () => {
  const queue = uniqueName('lazy-amqp');
  afterAll(() => deleteQueues(AMQP_URL, [queue]));

  test(
    'runs a task (rpc:// results) loading the AMQP family and amqplib, and nothing of the Redis family nor ioredis',
    async () => {
      const run = await runTsChild<{ value: number; broker: string; backend: string }>(child, [AMQP_URL, 'rpc://', queue]);
      expect(run.result).toEqual({ value: 5, broker: 'amqp', backend: 'rpc' });
      expect(family(run.files, 'amqp')).toContain('libs/nestjs-celery/src/transport/amqp/index.ts');
      expect(run.packages).toContain('amqplib');
      expect(family(run.files, 'redis')).toEqual([]);
      expect(run.packages).not.toContain('ioredis');
    },
    TIMEOUT,
  );

  test(
    'without amqplib installed, connecting fails at once with the install hint (MissingDriverError), no crash',
    async () => {
      const run = await runTsChild<{ name: string; message: string }>(child, [AMQP_URL, 'rpc://'], { hide: ['amqplib'] });
      expect(run.result.name).toBe('MissingDriverError');
      expect(run.result.message).toMatch(/the "amqplib" package is needed .* run `npm install amqplib`/);
      expect(run.packages).not.toContain('amqplib');
    },
    TIMEOUT,
  );
});

describe('registerTransport', () => {
  /** toy://<name>: the memory transport under its own scheme, counting its loads */
  const loads: string[] = [];
  const memoryCapabilities = new MemoryBroker('memory://lazy-capabilities').capabilities;
  class ToyBroker extends MemoryBroker {
    override readonly kind = 'toy';
  }
  const toy: TransportFamily = {
    name: 'toy',
    brokerSchemes: ['toy'],
    backendSchemes: ['toy'],
    brokerCapabilities: memoryCapabilities,
    backendCapabilities: { chords: true },
    load: async () => {
      loads.push('toy');
      const memory = await import('../../libs/nestjs-celery/src/transport/memory/index.js');
      const asMemory = (url: string) => url.replace(/^toy:/, 'memory:');
      return { createBroker: (urls) => new ToyBroker(asMemory(urls[0])), createResultBackend: (url) => new memory.MemoryBackend(asMemory(url)) };
    },
  };
  registerTransport(toy);
  // a family whose driver is not what it declared: the engine read the declaration before the driver existed
  registerTransport({
    ...toy,
    name: 'liar',
    brokerSchemes: ['liar'],
    backendSchemes: [],
    brokerCapabilities: { ...memoryCapabilities, consumerTimeout: true },
  });

  test('a toy:// family from outside the library runs a task end to end, loaded on connect', async () => {
    const url = `toy://${uniqueName('toy')}`;
    const app = new Celery({ broker: url, backend: url, logger: silentLogger });
    expect(loads).toEqual([]); // made: not loaded
    expect([app.broker.kind, app.broker.capabilities, app.backend?.kind]).toEqual(['toy', memoryCapabilities, 'toy']);
    const worker = new Worker(app, { concurrency: 1, logger: silentLogger });
    worker.register('toy.add', ([x, y]) => (x as number) + (y as number));
    await worker.start();
    try {
      const result = await app.sendTask('toy.add', [2, 3]);
      await expect(result.get({ timeout: 30_000 })).resolves.toBe(5);
      expect(loads).toEqual(['toy', 'toy']); // once for the broker, once for the backend
      expect(app.backend?.kind).toBe('memory'); // the loaded driver's own label
      // the toy broker is a memory one on the vhost of its name: the task went through it
      expect(new MemoryBroker(url.replace(/^toy:/, 'memory:')).vhost).toBe((app.broker as unknown as { driver: MemoryBroker }).driver.vhost);
    } finally {
      await worker.stop();
      await app.close();
    }
    expect(new MemoryBackend('memory://x').oid).toBe(app.oid); // the oid clients used was the loaded backend's
  }, 60_000);

  test('a family whose driver contradicts its declared capabilities is refused on connect, at once', async () => {
    const app = new Celery({ broker: 'liar://', logger: silentLogger });
    await expect(app.connect()).rejects.toThrow(/transport family "liar": its broker has consumerTimeout = false, declared true/);
    await app.close();
  }, 60_000);

  test('an unknown scheme is still refused when the app is made, listing registered schemes', () => {
    expect(() => new Celery({ broker: 'nope://u:secret@h', logger: silentLogger })).toThrow(
      /unsupported broker URL "nope:\/\/u:\*\*\*@h": use one of .*toy:\/\//,
    );
  });
});
