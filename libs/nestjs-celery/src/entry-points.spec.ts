/**
 * The package's entry points (package.json `exports`) as an app loads them: each resolves to a source file here, and
 * importing one loads no broker client library — a Redis-only app never loads amqplib, an AMQP-only one never ioredis.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTsChild } from '../../../test/support/ts-child.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = resolve(here, '..');
const repo = resolve(pkgDir, '../..');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { exports: Record<string, string | { types: string; default: string }> };
// "./dist/transport/amqp/index.js" → src/transport/amqp/index.ts (the code entries: "./package.json" is the file itself)
const entries = Object.entries(pkg.exports).flatMap(([subpath, target]) =>
  typeof target === 'string' ? [] : [{ subpath, source: join(pkgDir, target.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')) }],
);

interface Loaded {
  file: string;
  exports: number;
  /** the repo's source files loaded so far */
  files: string[];
  /** the npm packages loaded so far */
  packages: string[];
}

/**
 * Imports the files in one fresh Node process, in order, their TypeScript transpiled on load (no type check, as a
 * build would emit): what each import left loaded, through import() and require() alike (test/support/ts-child.ts).
 */
async function load(files: string[], ...call: string[]): Promise<Loaded[]> {
  const child = join(repo, 'test/support/import-entries.child.ts');
  return (await runTsChild<Loaded[]>(child, [...files, ...(call.length ? ['--call', ...call] : [])])).result;
}

describe('package entry points', () => {
  it('every export of package.json has its source file', () => {
    expect(Object.keys(pkg.exports)).toEqual(['.', './engine', './amqp', './redis', './memory', './rpc', './package.json']);
    expect(entries.map((e) => e.subpath)).toEqual(['.', './engine', './amqp', './redis', './memory', './rpc']);
    for (const { source } of entries) expect(existsSync(source)).toBe(true);
  });

  // one process for all entries (each is a fresh process's cost on a loaded machine): the packages loaded after
  // each import include the earlier ones', and none may be a driver
  it('importing any entry loads neither amqplib nor ioredis', async () => {
    const results = await load(entries.map((e) => e.source));
    expect(results.map((r) => r.file)).toEqual(entries.map((e) => e.source));
    for (const { file, exports, packages } of results) {
      expect({ file, exports: exports > 0 }).toEqual({ file, exports: true });
      expect({ file, drivers: packages.filter((p) => p === 'amqplib' || p === 'ioredis') }).toEqual({ file, drivers: [] });
    }
  }, 90_000);

  // the root and the engine come first: no transport family's code is loaded before a URL connects (factory.ts)
  it('importing the root or the engine loads no transport family', async () => {
    const [root, engine] = await load(entries.slice(0, 2).map((e) => e.source));
    for (const { file, files } of [root, engine]) {
      expect({ file, families: files.filter((f) => /\/src\/transport\/(amqp|redis|memory|rpc)\//.test(f)) }).toEqual({ file, families: [] });
    }
    expect(engine.files).toContain('libs/nestjs-celery/src/transport/factory.ts'); // the check sees the transport layer
  }, 90_000);

  it('the check sees a driver that is loaded', async () => {
    expect((await load([join(here, 'transport/driver-loader.ts')], 'loadDriver', 'ioredis'))[0].packages).toContain('ioredis');
  }, 90_000);
});
