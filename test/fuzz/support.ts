/**
 * Shared pieces of the fuzz suite: byte and text mutations of valid wire samples, the fixtures
 * Python Celery wrote (test/fixtures), how many cases a run tries, and the memory check.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

/** Cases per property: thousands per run, a few seconds each; FUZZ_RUNS raises it for a long soak. */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
/** A fixed seed per run unless FUZZ_SEED is set, so a failure can be replayed (fast-check prints seed and path). */
export const FC_OPTIONS = { numRuns: RUNS, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) };
/** Per-test deadline: a hang fails the test instead of stalling CI. */
export const FUZZ_TIMEOUT_MS = 120_000;

type Edit =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'repeat'; at: number; length: number; times: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    byte: fc.constantFrom(0x00, 0xff, 0x7f, 0x80, 0x41, 0x46, 0x53, 0x5b, 0x7b, 0x22, 0x2c, 0x3a, 0x26, 0x2a),
  }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 32 }), times: fc.integer({ min: 2, max: 64 }) }),
);

function apply(bytes: Buffer, edits: Edit[]): Buffer {
  let out = Buffer.from(bytes);
  for (const e of edits) {
    const at = out.length ? e.at % (out.length + 1) : 0;
    switch (e.kind) {
      case 'flip':
        if (at < out.length) out[at] ^= 1 << e.bit;
        break;
      case 'set':
        if (at < out.length) out[at] = e.byte;
        break;
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), Buffer.from(e.bytes), out.subarray(at)]);
        break;
      case 'delete':
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + e.length)]);
        break;
      case 'truncate':
        out = out.subarray(0, at);
        break;
      case 'repeat': {
        const piece = out.subarray(at, at + e.length);
        out = Buffer.concat([out.subarray(0, at), ...Array<Buffer>(e.times).fill(piece), out.subarray(at)]);
        break;
      }
    }
  }
  return out;
}

/** `samples` with 0–6 random edits each (bit flips, bytes set, inserted, deleted, repeated, truncation). */
export function mutated(samples: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc.tuple(samples, fc.array(edit, { maxLength: 6 })).map(([bytes, edits]) => apply(bytes, edits));
}

/** The same for text (edited as UTF-8 bytes, read back leniently). */
export function mutatedText(samples: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return mutated(samples.map((s) => Buffer.from(s, 'utf8'))).map((b) => b.toString('utf8'));
}

/** JSON-ish values as Celery messages carry them, nested a little. */
export const wireValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 30 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 10 }), tie('value'), { maxKeys: 5 }),
  ),
})).value;

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** Every kombu Redis envelope Python Celery wrote in test/fixtures/task-messages. */
export function pythonEnvelopes(): string[] {
  const dir = join(FIXTURES, 'task-messages');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { messages?: { raw?: string }[] }).messages ?? [])
    .map((m) => m.raw)
    .filter((raw): raw is string => typeof raw === 'string');
}

/** Every result document Python Celery stored in test/fixtures/result-metas. */
export function pythonResultMetas(): string[] {
  const dir = join(FIXTURES, 'result-metas');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { raw?: unknown }).raw)
    .filter((raw): raw is string => typeof raw === 'string');
}

/** Run `fn` and return how much the heap grew (after a collection when --expose-gc is on). */
export async function heapGrowth(fn: () => void | Promise<void>): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  await fn();
  gc?.();
  return process.memoryUsage().heapUsed - before;
}

/** What a decoder may do with bad input: return, or throw one of these (never RangeError, TypeError …). */
export function expectOnly(fn: () => unknown, ...allowed: (abstract new (...args: never[]) => Error)[]): unknown {
  try {
    return fn();
  } catch (err) {
    if (allowed.some((type) => err instanceof type)) return undefined;
    throw new Error(`undefined outcome: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message?.slice(0, 300)}`, { cause: err });
  }
}
