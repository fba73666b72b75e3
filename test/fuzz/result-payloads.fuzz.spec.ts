/**
 * Fuzz: result documents as a Python worker stores them (Redis backend values, RPC replies):
 * the documents Celery 5.2 wrote (test/fixtures/result-metas) mutated, and generated ones.
 * Defined outcome: the text is refused as not JSON / not a result, or read; a non-SUCCESS result
 * always becomes a CeleryTaskError (never a throw while building it).
 */
import fc from 'fast-check';
import { exceptionFromResult, CeleryTaskError } from '../../libs/nestjs-celery/src/protocol/exceptions.js';
import { ProtocolError } from '../../libs/nestjs-celery/src/protocol/errors.js';
import { loads } from '../../libs/nestjs-celery/src/protocol/json.js';
import { AcceptContent, decodeBody } from '../../libs/nestjs-celery/src/protocol/serialization.js';
import { FC_OPTIONS, FUZZ_TIMEOUT_MS, expectOnly, mutatedText, pythonResultMetas, wireValue } from './support.js';

/** What a client does with a stored result document (redis.backend decode, then AsyncResult.get). */
function readResult(raw: string): void {
  const meta = expectOnly(() => loads(raw), SyntaxError) as Record<string, unknown> | undefined;
  if (!meta || typeof meta !== 'object' || typeof meta.status !== 'string') return;
  if (meta.status === 'SUCCESS') return;
  const traceback = typeof meta.traceback === 'string' ? meta.traceback : null;
  const error = exceptionFromResult(meta.result, traceback, typeof meta.task_id === 'string' ? meta.task_id : undefined, meta.status);
  expect(error).toBeInstanceOf(CeleryTaskError);
  expect(typeof error.message).toBe('string');
  expect(typeof error.excType).toBe('string');
}

describe('fuzz: result payloads from a Python worker', () => {
  const python = pythonResultMetas();

  test('the Python fixtures read cleanly (the seeds are valid)', () => {
    expect(python.length).toBeGreaterThan(5);
    for (const raw of python) readResult(raw);
  });

  test(
    'mutated Python result documents',
    () => {
      fc.assert(fc.property(mutatedText(fc.constantFrom(...python)), readResult), FC_OPTIONS);
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'generated documents: any status, result, traceback, children',
    () => {
      const doc = fc.record(
        {
          status: fc.oneof(fc.constantFrom('SUCCESS', 'FAILURE', 'RETRY', 'REVOKED', 'PENDING', 'STARTED', 'PROGRESS'), wireValue),
          result: fc.oneof(
            wireValue,
            fc.record(
              {
                exc_type: fc.oneof(fc.string({ maxLength: 20 }), wireValue),
                exc_message: fc.oneof(fc.array(wireValue, { maxLength: 4 }), wireValue),
                exc_module: fc.oneof(fc.string({ maxLength: 20 }), wireValue),
              },
              { requiredKeys: [] },
            ),
          ),
          traceback: fc.oneof(fc.string({ maxLength: 200 }), wireValue),
          children: wireValue,
          date_done: wireValue,
          task_id: fc.oneof(fc.uuid(), wireValue),
        },
        { requiredKeys: [] },
      );
      fc.assert(
        fc.property(doc, (d) => {
          let raw: string;
          try {
            raw = JSON.stringify(d, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));
          } catch {
            return;
          }
          readResult(raw);
        }),
        FC_OPTIONS,
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'RPC replies (the reply queue reads them with decodeBody): a value or a typed error',
    () => {
      const accept = new AcceptContent(['json', 'msgpack', 'yaml']);
      fc.assert(
        fc.property(
          mutatedText(fc.constantFrom(...python)),
          fc.constantFrom('application/json', 'application/x-msgpack', 'application/x-yaml'),
          (raw, contentType) => {
            const body = expectOnly(() => decodeBody({ body: Buffer.from(raw), contentType, contentEncoding: 'utf-8', headers: {} }, accept), ProtocolError);
            if (body && typeof body === 'object' && typeof (body as { status?: unknown }).status === 'string') {
              const b = body as { status: string; result: unknown };
              if (b.status !== 'SUCCESS') expect(exceptionFromResult(b.result, null)).toBeInstanceOf(CeleryTaskError);
            }
          },
        ),
        FC_OPTIONS,
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test('deeply nested exc_message and results (10,000 levels) still give a CeleryTaskError', () => {
    const deep = '['.repeat(10_000) + '1' + ']'.repeat(10_000);
    readResult(`{"status": "FAILURE", "result": {"exc_type": "ValueError", "exc_message": ${deep}, "exc_module": "builtins"}, "traceback": null}`);
    readResult(`{"status": "FAILURE", "result": ${deep}, "traceback": null}`);
    readResult(`{"status": "FAILURE", "result": ${deep.replace('1', 'NaN')}, "traceback": null}`);
  });
});
