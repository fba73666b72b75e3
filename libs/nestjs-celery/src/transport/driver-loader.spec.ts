/** Drivers load only when a URL asks for them, and a missing one says how to install it. */
import { createRequire } from 'node:module';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBroker, createResultBackend } from './factory.js';
import { setDriverRequirer } from './driver-loader.js';
import { MissingDriverError } from './driver.errors.js';

const here = dirname(fileURLToPath(import.meta.url));
const srcRoot = resolve(here, '..');

const real = createRequire(import.meta.url);

function recordingRequirer(requested: string[], missing: string[] = []) {
  return (name: string) => {
    requested.push(name);
    if (missing.includes(name)) throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });
    return real(name) as unknown;
  };
}

describe('lazy drivers', () => {
  afterEach(() => setDriverRequirer(undefined));

  it('a memory:// app asks for no driver', async () => {
    const requested: string[] = [];
    setDriverRequirer(recordingRequirer(requested));
    const broker = createBroker('memory://');
    const backend = createResultBackend('memory://', broker);
    await broker.connect();
    await backend.connect();
    await backend.close();
    await broker.close();
    expect(requested).toEqual([]);
  });

  // which driver a connected redis:// or amqp:// app loads is test/broker/lazy-families.spec.ts (a child process)
  it('a redis:// or amqp:// broker or backend asks for no driver until it connects', () => {
    const requested: string[] = [];
    setDriverRequirer(recordingRequirer(requested));
    const broker = createBroker('redis://127.0.0.1:1/0');
    const backend = createResultBackend('redis://127.0.0.1:1/0', createBroker('amqp://guest:guest@127.0.0.1:1//'));
    expect(requested).toEqual([]);
    expect([broker.kind, backend.kind]).toEqual(['redis', 'redis']);
  });

  it('a missing driver is a MissingDriverError with the install hint', async () => {
    setDriverRequirer(recordingRequirer([], ['amqplib']));
    const broker = createBroker('amqp://guest:guest@127.0.0.1:1//');
    await expect(broker.connect()).rejects.toThrow(MissingDriverError);
    await expect(broker.connect()).rejects.toThrow(/npm install amqplib/);
    await broker.close().catch(() => undefined);
    setDriverRequirer(recordingRequirer([], ['ioredis']));
    const backend = createResultBackend('redis://127.0.0.1:1/0', createBroker('memory://')); // made: no driver needed yet
    await expect(backend.connect()).rejects.toThrow(/npm install ioredis/);
  });

  // Loading the package entry must not load a driver: no source file imports one as a value
  // (type-only imports are erased); they go through driver-loader.ts at connect/construct time.
  it('no source file imports amqplib, ioredis, prom-client or @opentelemetry/api as a value', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts') && !name.endsWith('.spec.ts')) {
          const text = readFileSync(path, 'utf8');
          if (
            /^import\s+(?!type\b)[^;]*from\s+'(amqplib|ioredis|prom-client|@opentelemetry\/api)'/m.test(text) ||
            /(?<!typeof )import\(\s*'(amqplib|ioredis|prom-client|@opentelemetry\/api)'\s*\)/.test(text)
          )
            offenders.push(path);
        }
      }
    };
    walk(srcRoot);
    expect(offenders).toEqual([]);
  });
});
