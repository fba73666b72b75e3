// The package's public surface as checked-in API reports (`npm run check:api`; `-- --local` rewrites them).
// One report per entry point of libs/nestjs-celery/package.json `exports`, made by API Extractor from declarations built here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const lib = join(root, 'libs/nestjs-celery');
const reports = join(lib, 'api');
// under the repository (so @nestjs/* and rxjs types resolve from its node_modules) and git-ignored (dist/)
const out = join(root, 'dist/api-check');
const local = process.argv.includes('--local');
const require = createRequire(import.meta.url);
const { Extractor, ExtractorConfig, CompilerState } = require('@microsoft/api-extractor');

const t0 = Date.now();
rmSync(out, { recursive: true, force: true });
const tsc = spawnSync(
  process.execPath,
  [
    require.resolve('typescript/bin/tsc'),
    ...[
      '-p',
      join(lib, 'tsconfig.lib.json'),
      '--outDir',
      out,
      '--emitDeclarationOnly',
      '--declarationMap',
      'false',
      '--sourceMap',
      'false',
      '--inlineSources',
      'false',
    ],
  ],
  { stdio: 'inherit' },
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const built = Date.now();

// "." → nestjs-celery, "./engine" → nestjs-celery-engine; types "./dist/x.d.ts" → <out>/x.d.ts
const pkg = JSON.parse(readFileSync(join(lib, 'package.json'), 'utf8'));
// (entries with types only: "./package.json" is data, not code)
const entries = Object.entries(pkg.exports)
  .filter(([, target]) => typeof target === 'object' && target.types)
  .map(([subpath, target]) => ({
    subpath,
    report: [pkg.name, ...subpath.split('/').slice(1)].join('-'),
    dts: join(out, relative('dist', target.types)),
  }));

const configs = entries.map(({ report, dts }) =>
  ExtractorConfig.prepare({
    configObject: {
      projectFolder: lib,
      mainEntryPointFilePath: dts,
      compiler: { tsconfigFilePath: join(lib, 'tsconfig.lib.json') },
      apiReport: {
        enabled: true,
        reportFileName: `${report}.api.md`,
        reportFolder: reports,
        reportTempFolder: join(out, 'reports'),
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: { logLevel: 'warning' } },
        extractorMessageReporting: {
          default: { logLevel: 'warning' },
          // no release tags (@public/@beta) in this package: what an entry exports is public
          'ae-missing-release-tag': { logLevel: 'none' },
          // doc comments are prose for readers; the report lists signatures, not which have comments
          'ae-undocumented': { logLevel: 'none', addToApiReportFile: false },
          // a type a signature uses but the entry does not export: not fatal, and not in the report, whose
          // footer would carry this checkout's absolute path (a report made in one clone then differs in every other)
          'ae-forgotten-export': { logLevel: 'none', addToApiReportFile: false },
        },
        // doc comments are prose for readers, not TSDoc
        tsdocMessageReporting: { default: { logLevel: 'none' } },
      },
    },
    configObjectFullPath: undefined,
    packageJsonFullPath: join(lib, 'package.json'),
  }),
);

// one TypeScript program for every entry
const compilerState = CompilerState.create(configs[0], { additionalEntryPoints: entries.map((e) => e.dts) });
mkdirSync(reports, { recursive: true });
const quiet = new Set([
  'console-preamble',
  'console-compiler-version-notice',
  'console-api-report-changed',
  'console-api-report-not-copied',
  'console-api-report-copied',
  'console-api-report-created',
]);
const changed = [];
let problems = 0;
for (const [i, config] of configs.entries()) {
  const result = Extractor.invoke(config, {
    localBuild: local,
    compilerState,
    messageCallback: (message) => {
      // API Extractor's notices about its TypeScript and about copying reports: replaced by the summary and the diff below
      if (quiet.has(message.messageId)) message.handled = true;
    },
  });
  problems += result.errorCount + result.warningCount;
  if (result.apiReportChanged) changed.push(entries[i]);
}
const known = new Set(entries.map((e) => `${e.report}.api.md`));
const stale = readdirSync(reports).filter((f) => f.endsWith('.api.md') && !known.has(f));
if (local) for (const f of stale) rmSync(join(reports, f));

const seconds = (ms) => (ms / 1000).toFixed(1);
const summary = `${entries.length} entry points, declarations ${seconds(built - t0)} s, reports ${seconds(Date.now() - built)} s`;
if (local) {
  console.log(`check-api: ${changed.length ? `rewrote ${changed.map((e) => e.report).join(', ')}` : 'reports unchanged'}; ${summary}`);
  process.exit(problems ? 1 : 0);
}
for (const { report } of changed) {
  const file = `${report}.api.md`;
  const checkedIn = join(reports, file);
  const actual = join(out, 'reports', file);
  console.error(`\n${relative(root, checkedIn)}: the public surface changed`);
  if (existsSync(checkedIn)) spawnSync('git', ['--no-pager', 'diff', '--no-index', '--', checkedIn, actual], { stdio: 'inherit' });
}
for (const f of stale) console.error(`${relative(root, join(reports, f))}: no entry point makes this report any more`);
if (changed.length || stale.length || problems) {
  if (changed.length || stale.length) console.error('\nIf the change is intended: npm run check:api -- --local, and commit libs/nestjs-celery/api/.');
  process.exit(1);
}
console.log(`check-api: the public surface matches libs/nestjs-celery/api/ (${summary})`);
