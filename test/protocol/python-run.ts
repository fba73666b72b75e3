/**
 * Run one Python script under Debian's interpreter (where Celery 5.2 lives) with a JSON batch on
 * stdin and read its JSON answer from stdout: one spawn per suite, however many cases.
 * Unlike test/support/python.ts (interop harness, JSON.parse/stringify) both directions go
 * through protocol/json.ts, so NaN, Infinity and integers beyond 2^53 cross intact — these
 * suites are about exactly those values.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { PYTHON } from '../support/services.js';
import { dumps, loads } from '../../libs/nestjs-celery/src/protocol/json.js';

const HERE = dirname(fileURLToPath(import.meta.url));

export function runPythonScript<T>(script: string, input: unknown, timeoutMs = 30_000): T {
  const res = spawnSync(PYTHON, [join(HERE, script)], {
    input: dumps(input),
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`${script} exited with ${res.status}:\n${res.stderr}`);
  return loads(res.stdout) as T;
}
