/**
 * The known bombs of issue 12 as fixed cases, through the same decoders the fuzz properties
 * drive: each is refused at its bound, fast, without the memory it asks for.
 */
import fc from 'fast-check';
import { DecodeError, MessageTooLargeError } from '../../libs/nestjs-celery/src/protocol/errors.js';
import { AcceptContent, decodeBody } from '../../libs/nestjs-celery/src/protocol/serialization.js';
import { matches } from '../../libs/nestjs-celery/src/engine/control/matcher.js';
import { LimitedSet } from '../../libs/nestjs-celery/src/engine/worker/limited-set.js';
import { BROTLI_1GIB, GIB, STALLING_GLOB, yamlAliasBomb, yamlTaskBomb, zlibBomb1Gib } from './bombs.js';
import { FC_OPTIONS, FUZZ_TIMEOUT_MS, mutated } from './support.js';

const MIB = 1024 * 1024;
const json = (body: Buffer, compression: string) => ({ body, contentType: 'application/json', contentEncoding: 'utf-8', headers: { id: 'bomb', compression } });

function refusedWithin(fn: () => unknown, type: typeof MessageTooLargeError | typeof DecodeError, rssBudget: number): void {
  const before = process.memoryUsage().rss;
  expect(fn).toThrow(type);
  expect(process.memoryUsage().rss - before).toBeLessThan(rssBudget);
}

describe('fuzz: the known bombs', () => {
  test(
    'zlib: 1 MB that inflates to 1 GiB is refused at 16 MiB (the RSS went 100 MB → 2.2 GB)',
    async () => {
      const bomb = await zlibBomb1Gib();
      expect(bomb.length).toBeLessThan(2 * MIB);
      refusedWithin(() => decodeBody(json(bomb, 'application/x-gzip')), MessageTooLargeError, 256 * MIB);
    },
    FUZZ_TIMEOUT_MS,
  );

  test('brotli: 1.6 KB that inflates to 1 GiB is refused at 16 MiB', () => {
    expect(BROTLI_1GIB.length).toBeLessThan(2048);
    expect(GIB / BROTLI_1GIB.length).toBeGreaterThan(500_000);
    refusedWithin(() => decodeBody(json(BROTLI_1GIB, 'application/x-brotli')), MessageTooLargeError, 256 * MIB);
  });

  test(
    'mutated bombs: refused, or a DecodeError for a corrupt stream, never inflated past the limit',
    async () => {
      const zlibBomb = (await zlibBomb1Gib()).subarray(0, 64 * 1024);
      const seeds = fc.constantFrom({ body: BROTLI_1GIB, c: 'application/x-brotli' }, { body: zlibBomb, c: 'application/x-gzip' });
      fc.assert(
        fc.property(
          seeds.chain(({ body, c }) => mutated(fc.constant(body)).map((m) => ({ body: m, c }))),
          ({ body, c }) => {
            try {
              const out = decodeBody(json(body, c), undefined, { maxDecompressedBytes: MIB });
              expect(Buffer.byteLength(String(out))).toBeLessThanOrEqual(MIB);
            } catch (err) {
              expect(err instanceof MessageTooLargeError || err instanceof DecodeError).toBe(true);
            }
          },
        ),
        { ...FC_OPTIONS, numRuns: Math.ceil(FC_OPTIONS.numRuns / 10) },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test('YAML alias bombs (the worker died OOM, exit 134): refused at maxYamlNodes', () => {
    const yaml = new AcceptContent(['yaml']);
    for (const doc of [yamlAliasBomb(), yamlTaskBomb(), yamlAliasBomb(30)]) {
      refusedWithin(
        () => decodeBody({ body: Buffer.from(doc), contentType: 'application/x-yaml', contentEncoding: 'utf-8', headers: {} }, yaml),
        DecodeError,
        256 * MIB,
      );
    }
  });

  test('the glob that blocked the loop 37 s, against long and short names, answers at once', () => {
    for (const name of ['nestjs@host', 'celery@' + 'worker-'.repeat(40)]) {
      expect(matches(name, STALLING_GLOB)).toBe(false);
      expect(matches(name, '*'.repeat(200) + 'X')).toBe(false);
    }
  }, 60_000);

  test('hello merging 50,000 revoked ids in reverse time order (97 s for 20,000) finishes, in order', () => {
    const set = new LimitedSet(50_000, 10_800, () => 10_000);
    const revoked: Record<string, [number, string]> = {};
    for (let i = 0; i < 50_000; i++) revoked[`r${i}`] = [9_000 - i / 100, `r${i}`];
    set.update(revoked);
    expect(set.size).toBe(50_000);
    expect(set.ids()[0]).toBe('r49999');
  }, 60_000);
});
