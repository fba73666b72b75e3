/**
 * Nest 11 smoke test: the built library loaded by an app whose @nestjs/* are 11.x (test/nest11
 * has its own install: `npm ci --prefix test/nest11`, done by .ci/run).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const installed = existsSync(join(here, 'node_modules', '@nestjs', 'core', 'package.json'));
if (!installed) {
  const how = 'npm ci --prefix test/nest11';
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`the Nest 11 smoke test needs its install and CI=true makes it mandatory: ${how}`);
  process.stdout.write(`skipped: Nest 11 smoke test (test/nest11 not installed), start it with ${how}\n`);
}

(installed ? describe : describe.skip)('Nest 11 smoke test', () => {
  test('a @CeleryTask runs and a CeleryClient gets its result and typed failure under @nestjs/* 11', () => {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'libs', 'nestjs-celery', 'tsconfig.lib.json')], {
      stdio: 'pipe',
    });
    const target = join(here, 'node_modules', 'nestjs-celery');
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { recursive: true });
    cpSync(join(root, 'libs', 'nestjs-celery', 'dist'), join(target, 'dist'), { recursive: true });
    cpSync(join(root, 'libs', 'nestjs-celery', 'package.json'), join(target, 'package.json'));
    const out = JSON.parse(
      execFileSync(process.execPath, [join(here, 'smoke.mjs')], { cwd: here, encoding: 'utf8' })
        .trim()
        .split('\n')
        .pop()!,
    ) as { nest: string; sum: number; failure: unknown; entries: unknown };
    expect(out.nest).toMatch(/^11\./);
    expect(out.sum).toBe(5);
    expect(out.failure).toEqual(['ValueError', ['nest 11']]);
    expect(out.entries).toEqual({ engineCelery: true, drivers: ['AmqpBroker', 'RedisBroker', 'MemoryBroker', 'RpcBackend'] });
  }, 60_000);
});
