/**
 * The package's entry points (package.json `exports`) as an app loads them: each resolves to a source file here, and
 * importing one loads no broker client library — a Redis-only app never loads amqplib, an AMQP-only one never ioredis.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = resolve(here, '..');
const repo = resolve(pkgDir, '../..');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { exports: Record<string, string | { types: string; default: string }> };
// "./dist/transport/amqp/index.js" → src/transport/amqp/index.ts (the code entries: "./package.json" is the file itself)
const entries = Object.entries(pkg.exports).flatMap(([subpath, target]) =>
  typeof target === 'string' ? [] : [{ subpath, source: join(pkgDir, target.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')) }],
);

// A fresh Node process imports entries, their TypeScript transpiled on load (no type check, as a build would emit),
// then lists the npm packages loaded through require (amqplib and ioredis are CommonJS, loaded by driver-loader.ts).
const child = `
import { registerHooks, createRequire } from 'node:module';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
registerHooks({
  resolve(specifier, context, next) {
    if (context.parentURL?.endsWith('.ts') && specifier.startsWith('.') && specifier.endsWith('.js')) {
      const source = new URL(specifier.replace(/\\.js$/, '.ts'), context.parentURL);
      if (existsSync(fileURLToPath(source))) return { url: source.href, shortCircuit: true };
    }
    return next(specifier, context);
  },
  load(url, context, next) {
    if (!url.endsWith('.ts')) return next(url, context);
    const { outputText } = ts.transpileModule(readFileSync(fileURLToPath(url), 'utf8'), {
      fileName: fileURLToPath(url),
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, experimentalDecorators: true, emitDecoratorMetadata: true },
    });
    return { format: 'module', source: outputText, shortCircuit: true };
  },
});
// argv: entry files, imported in turn; '--call', an export's name and its argument calls it (the control: loadDriver)
const args = process.argv.slice(1);
const call = args.includes('--call') ? args.splice(args.indexOf('--call')).slice(1) : [];
const loaded = () => [...new Set(Object.keys(createRequire(import.meta.url).cache).map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(f)?.[1]).filter(Boolean))].sort();
for (const file of args) {
  const entry = await import(file);
  if (call.length) entry[call[0]](call[1]);
  console.log(JSON.stringify({ file, exports: Object.keys(entry).length, packages: loaded() }));
}
`;

interface Loaded {
  file: string;
  exports: number;
  packages: string[];
}

/** Imports the files in one fresh process, in order: what each import left loaded. */
function load(files: string[], ...call: string[]): Loaded[] {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // Jest's --experimental-vm-modules is not for the child
  const args = ['--input-type=module', '-e', child, ...files, ...(call.length ? ['--call', ...call] : [])];
  const run = spawnSync(process.execPath, args, { cwd: repo, env, encoding: 'utf8', timeout: 90_000 });
  if (run.status !== 0) throw new Error(`importing ${files.join(', ')} failed (${run.status ?? run.signal}):\n${run.stderr}`);
  return run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Loaded);
}

describe('package entry points', () => {
  it('every export of package.json has its source file', () => {
    expect(Object.keys(pkg.exports)).toEqual(['.', './engine', './amqp', './redis', './memory', './rpc', './package.json']);
    expect(entries.map((e) => e.subpath)).toEqual(['.', './engine', './amqp', './redis', './memory', './rpc']);
    for (const { source } of entries) expect(existsSync(source)).toBe(true);
  });

  // one process for all entries (each is a fresh process's cost on a loaded machine): the packages loaded after
  // each import include the earlier ones', and none may be a driver
  it('importing any entry loads neither amqplib nor ioredis', () => {
    const results = load(entries.map((e) => e.source));
    expect(results.map((r) => r.file)).toEqual(entries.map((e) => e.source));
    for (const { file, exports, packages } of results) {
      expect({ file, exports: exports > 0 }).toEqual({ file, exports: true });
      expect({ file, drivers: packages.filter((p) => p === 'amqplib' || p === 'ioredis') }).toEqual({ file, drivers: [] });
    }
  }, 90_000);

  it('the check sees a driver that is loaded', () => {
    expect(load([join(here, 'transport/driver-loader.ts')], 'loadDriver', 'ioredis')[0].packages).toContain('ioredis');
  }, 90_000);
});
