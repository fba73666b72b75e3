/**
 * Runs a TypeScript module of this repo in a fresh Node process (transpiled on load, no type check, as a build would
 * emit) and reports every file and package that process resolved: what a real app process loads, which Jest's own
 * module registry cannot show. Optionally makes some packages fail to resolve, as if they were not installed.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');

// Hooks (module.registerHooks) apply to import() and require() alike, so the drivers' require through
// driver-loader.ts is seen (and can be refused) too. argv: the module, then its arguments; it exports `main(args)`.
const runner = `
import { registerHooks } from 'node:module';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
const hidden = new Set(JSON.parse(process.env.TS_CHILD_HIDE ?? '[]'));
const resolved = new Set();
globalThis.tsChildResolved = resolved; // what the process resolved so far, for a main() that reports it per step
registerHooks({
  resolve(specifier, context, next) {
    if (hidden.has(specifier)) throw Object.assign(new Error("Cannot find package '" + specifier + "'"), { code: 'ERR_MODULE_NOT_FOUND' });
    let result;
    if (context.parentURL?.endsWith('.ts') && specifier.startsWith('.') && specifier.endsWith('.js')) {
      const source = new URL(specifier.replace(/\\.js$/, '.ts'), context.parentURL);
      if (existsSync(fileURLToPath(source))) result = { url: source.href, shortCircuit: true };
    }
    result ??= next(specifier, context);
    resolved.add(result.url);
    return result;
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
const [file, ...args] = process.argv.slice(1);
const result = await (await import(pathToFileURL(file).href)).main(args);
console.log(JSON.stringify({ result, resolved: [...resolved] }));
process.exit(0);
`;

export interface ChildRun<T> {
  /** what the module's main() returned */
  result: T;
  /** every source file of the repo the process loaded, relative to the repo ('libs/nestjs-celery/src/…') */
  files: string[];
  /** every npm package the process loaded ('amqplib', '@nestjs/core') */
  packages: string[];
}

/** The repo's files and the npm packages among resolved module URLs. */
export function loadedFrom(resolved: Iterable<string>): { files: string[]; packages: string[] } {
  const paths = [...resolved].filter((u) => u.startsWith('file:')).map((u) => decodeURIComponent(new URL(u).pathname));
  const files = [...new Set(paths.filter((p) => p.startsWith(`${repo}/`) && !p.includes('/node_modules/')).map((p) => p.slice(repo.length + 1)))].sort();
  const packages = [...new Set(paths.map((p) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(p)?.[1]).filter((p): p is string => !!p))].sort();
  return { files, packages };
}

/** In a child's main(): what the process has loaded so far. */
export function loadedSoFar(): { files: string[]; packages: string[] } {
  return loadedFrom((globalThis as { tsChildResolved?: Set<string> }).tsChildResolved ?? []);
}

/** Runs `main(args)` of the module `file` in a fresh process; `hide` lists packages that fail to resolve there. */
export function runTsChild<T>(file: string, args: string[], options: { hide?: string[]; timeoutMs?: number } = {}): Promise<ChildRun<T>> {
  const env: NodeJS.ProcessEnv = { ...process.env, TS_CHILD_HIDE: JSON.stringify(options.hide ?? []) };
  delete env.NODE_OPTIONS; // Jest's --experimental-vm-modules is not for the child
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', runner, file, ...args],
      { cwd: repo, env, encoding: 'utf8', timeout: options.timeoutMs ?? 90_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (error) return fail(new Error(`${file} failed (${error.code ?? error.signal}):\n${stderr}`));
        const { result, resolved } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { result: T; resolved: string[] };
        done({ result, ...loadedFrom(resolved) });
      },
    );
  });
}
