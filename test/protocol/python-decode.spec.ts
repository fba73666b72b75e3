/**
 * Python Celery 5.2 is the judge: messages written by createTaskMessage + encodeBody go through
 * the Python worker's own decoding path (kombu Message, strategy's v1 conversion, Request) and
 * are executed by Request.execute(); exceptions written by serializeException go through the
 * result backend's exception_to_python; bodies cross in both directions through kombu's
 * serializers. One Python spawn judges the whole batch (test/protocol/python-decode.py).
 */
import { describeIfAvailable } from '../support/services.js';
import { runPythonScript } from './python-run.js';
import { createTaskMessage, type TaskMessage, type TaskMessageOptions } from '../../libs/nestjs-celery/src/protocol/task-message.js';
import { AcceptContent, decodeBody, encodeBody, type SerializerName } from '../../libs/nestjs-celery/src/protocol/serialization.js';
import { serializeException, formatTraceback } from '../../libs/nestjs-celery/src/protocol/exceptions.js';
import {
  KeyError,
  NotRegistered,
  pythonError,
  PyTypeError,
  TaskRevokedError,
  TimeLimitExceeded,
  ValueError,
} from '../../libs/nestjs-celery/src/protocol/python-errors.js';
import { toIsoString } from '../../libs/nestjs-celery/src/protocol/dates.js';
import type { SignatureDict } from '../../libs/nestjs-celery/src/protocol/signature.js';

const describePython = await describeIfAvailable('protocol decoded by Python Celery', 'python-celery');

type PyResult = Record<string, unknown> & { ok?: boolean; error?: string };

interface Answer {
  messages: PyResult[];
  exceptions: PyResult[];
  bodies: unknown[];
  python_bodies: { serializer: SerializerName; content_type: string; content_encoding: string; compression?: string; body: string }[];
}

/** What an AMQP transport puts on the wire for our camelCase properties. */
function wireProperties(m: TaskMessage): Record<string, unknown> {
  const p = m.properties;
  const out: Record<string, unknown> = { correlation_id: p.correlationId, reply_to: p.replyTo, delivery_mode: p.deliveryMode };
  if (p.priority !== undefined) out.priority = p.priority;
  if (p.expiration !== undefined) out.expiration = p.expiration;
  return out;
}

function messageCase(options: TaskMessageOptions, serializer: SerializerName = 'json', compression?: string) {
  const m = createTaskMessage(options);
  const encoded = encodeBody(m.body, serializer, compression);
  return {
    message: m,
    wire: {
      headers: encoded.compression ? { ...m.headers, compression: encoded.compression } : m.headers,
      properties: wireProperties(m),
      content_type: encoded.contentType,
      content_encoding: encoded.contentEncoding,
      body: encoded.body.toString('base64'),
    },
  };
}

const sig = (task: string, args: unknown[], taskId: string): SignatureDict => ({
  task,
  args,
  kwargs: {},
  options: { task_id: taskId },
  subtask_type: null,
  immutable: false,
});

const future = (seconds: number) => new Date(Date.now() + seconds * 1000);
const eta = new Date(Date.now() + 3_600_000 + 123);
const expires = new Date(Date.now() + 7_200_000 + 456);

const MESSAGES = {
  plain: messageCase({ id: 'm-plain', task: 'tasks.echo', args: [2, 2], replyTo: 'oid-1' }),
  everything: messageCase({
    id: 'm-all',
    task: 'tasks.echo',
    args: ['héllo ☃ 😀', 1.5, null, true, [1, { a: 'b' }], 2n ** 64n + 1n],
    kwargs: { text: 'it\'s "q"\n', nested: { deep: [[[1]]] }, nan: NaN },
    eta,
    expires,
    retries: 2,
    timeLimit: [30, 20],
    rootId: 'root-1',
    parentId: 'parent-1',
    group: 'group-1',
    groupIndex: 3,
    shadow: 'nice-name',
    replyTo: 'oid-2',
    priority: 4,
    origin: 'gen1@node',
    callbacks: [sig('tasks.echo', [10], 'cb-1')],
    errbacks: [sig('tasks.echo', [], 'eb-1')],
    chain: [sig('tasks.echo', [8], 'c-2'), sig('tasks.echo', [4], 'c-1')],
    chord: sig('tasks.echo', [], 'body-1'),
  }),
  msgpack: messageCase(
    { id: 'm-msgpack', task: 'tasks.echo', args: ['hé', Buffer.from([0, 1, 255]), 2 ** 40, 1.5], kwargs: { k: [1] }, replyTo: 'o' },
    'msgpack',
  ),
  yaml: messageCase({ id: 'm-yaml', task: 'tasks.echo', args: ['yes', 'y', '1e5', '0o17', '~', '', 1.5, null], kwargs: { k: 'null' }, replyTo: 'o' }, 'yaml'),
  zlib: messageCase({ id: 'm-zlib', task: 'tasks.echo', args: [7, 8], replyTo: 'o' }, 'json', 'zlib'),
  expired: messageCase({ id: 'm-expired', task: 'tasks.echo', args: [], expires: future(-60), replyTo: 'o' }),
};

const EXCEPTIONS: [string, unknown][] = [
  ['ValueError', new ValueError('custom')],
  ['several args', new ValueError('a', 2, null)],
  ['KeyError', new KeyError('k')],
  ['TypeError', new PyTypeError('bad type')],
  ['JS TypeError', new TypeError('js type')],
  ['JS RangeError', new RangeError('out of range')],
  ['JS Error', new Error('plain')],
  ['JS-only class', new (class HttpFailure extends Error {})('503 upstream')],
  ['TaskRevokedError', new TaskRevokedError('expired')],
  ['TimeLimitExceeded', new TimeLimitExceeded(30)],
  ['NotRegistered', new NotRegistered('tasks.missing')],
  ['custom module', pythonError('PaymentDeclined', ['card'], 'shop.errors')],
];

const BODY_VALUES: Record<SerializerName, unknown[]> = {
  json: ['héllo ☃ 😀', 1.5, 1e-7, 2n ** 64n + 1n, null, true, { a: [1, { b: NaN }] }, "it's"],
  msgpack: ['hé', Buffer.from([0, 1, 255]), 2 ** 40, -(2 ** 40), 2n ** 63n + 5n, 1.5, null, true, { k: [1, { x: 'y' }] }],
  yaml: ['yes', 'y', 'n', 'no', 'on', '1e5', '0o17', '017', '0x10', '1:20', '~', 'null', '', '2024-01-01', 1.5, -0.5, 42, 2n ** 70n, null, true, { x: 'y' }],
  pickle: [],
};

/** Python's JSON view of our values: bytes are {__bytes__: hex}. */
function plain(value: unknown): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { __bytes__: Buffer.from(value).toString('hex') };
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

describePython('protocol decoded by Python Celery', () => {
  let answer: Answer;
  const bodies = (['json', 'msgpack', 'yaml'] as const).flatMap((serializer) =>
    [undefined, 'zlib'].map((compression) => {
      const encoded = encodeBody(BODY_VALUES[serializer], serializer, compression);
      return {
        serializer,
        compression,
        wire: {
          content_type: encoded.contentType,
          content_encoding: encoded.contentEncoding,
          compression: encoded.compression,
          body: encoded.body.toString('base64'),
        },
      };
    }),
  );

  beforeAll(() => {
    answer = runPythonScript<Answer>('python-decode.py', {
      messages: Object.values(MESSAGES).map((c) => c.wire),
      exceptions: EXCEPTIONS.map(([, e]) => serializeException(e)),
      bodies: bodies.map((b) => b.wire),
      python_values: { json: BODY_VALUES.json, msgpack: plain(BODY_VALUES.msgpack), yaml: BODY_VALUES.yaml },
    });
  });
  const result = (name: keyof typeof MESSAGES) => answer.messages[Object.keys(MESSAGES).indexOf(name)];

  test('a plain message: the worker reads and runs it', () => {
    expect(result('plain')).toMatchObject({
      ok: true,
      protocol: 2,
      id: 'm-plain',
      name: 'tasks.echo',
      task: 'tasks.echo',
      args: [2, 2],
      kwargs: {},
      eta: null,
      expires: null,
      time_limits: [null, null],
      root_id: 'm-plain',
      parent_id: null,
      argsrepr: '(2, 2)',
      kwargsrepr: '{}',
      reply_to: 'oid-1',
      correlation_id: 'm-plain',
      revoked: false,
      retval: [[2, 2], {}],
    });
  });

  test('every header, property and embed field reaches the task request as Celery means it', () => {
    const r = result('everything');
    const m = MESSAGES.everything.message;
    expect(r).toMatchObject({
      ok: true,
      id: 'm-all',
      // Request.name and task_name are the shadow name
      name: 'nice-name',
      task: 'nice-name',
      args: ['héllo ☃ 😀', 1.5, null, true, [1, { a: 'b' }], 2n ** 64n + 1n],
      eta: toIsoString(eta),
      expires: toIsoString(expires),
      time_limits: [30, 20],
      root_id: 'root-1',
      parent_id: 'parent-1',
      argsrepr: m.headers.argsrepr,
      kwargsrepr: m.headers.kwargsrepr,
      reply_to: 'oid-2',
      correlation_id: 'm-all',
      priority: 4,
    });
    expect((r.kwargs as { nan: number }).nan).toBeNaN();
    expect(r.context).toMatchObject({
      id: 'm-all',
      root_id: 'root-1',
      parent_id: 'parent-1',
      group: 'group-1',
      group_index: 3,
      retries: 2,
      timelimit: [30, 20],
      shadow: 'nice-name',
      lang: 'py',
      origin: 'gen1@node',
      reply_to: 'oid-2',
      correlation_id: 'm-all',
      callbacks: [sig('tasks.echo', [10], 'cb-1')],
      errbacks: [sig('tasks.echo', [], 'eb-1')],
      chord: sig('tasks.echo', [], 'body-1'),
    });
    // the worker pops the next chain step from the end of embed.chain before the task runs
    expect((r.context as { chain: unknown[] }).chain).toEqual([sig('tasks.echo', [8], 'c-2')]);
  });

  test('msgpack bodies: str, bytes, 64-bit ints and floats arrive typed', () => {
    expect(result('msgpack')).toMatchObject({
      ok: true,
      args: ['hé', { __bytes__: '0001ff' }, 2 ** 40, 1.5],
      kwargs: { k: [1] },
      argsrepr: "('hé', b'0001ff', 1099511627776, 1.5)",
    });
  });

  test('yaml bodies: strings PyYAML would misread stay strings', () => {
    expect(result('yaml')).toMatchObject({ ok: true, args: ['yes', 'y', '1e5', '0o17', '~', '', 1.5, null], kwargs: { k: 'null' } });
  });

  test('zlib-compressed bodies are decompressed by kombu', () => {
    expect(result('zlib')).toMatchObject({ ok: true, args: [7, 8], retval: [[7, 8], {}] });
  });

  test('an expired message is revoked by the worker instead of run', () => {
    expect(result('expired')).toMatchObject({ ok: true, revoked: true });
  });

  test.each(EXCEPTIONS.map(([name], i) => [name, i] as const))('exception_to_python rebuilds %s', (name, i) => {
    const info = serializeException(EXCEPTIONS[i][1]);
    const py = answer.exceptions[i];
    expect(py.ok).not.toBe(false);
    expect(py.type).toBe(info.exc_type);
    expect(py.args).toEqual(info.exc_message);
    if (info.exc_module === 'builtins' || info.exc_module === 'celery.exceptions' || info.exc_module === 'billiard.exceptions') {
      // the real class
      expect(py.module).toBe(info.exc_module);
    } else {
      // a module Python has not loaded: Celery builds an Exception subclass with that name
      expect(py.module).toBe('celery.exceptions');
      expect(py.is_exception).toBe(true);
    }
  });

  test("Python can catch them by their Python type, and str(exc) is the handler's message", () => {
    const byName = Object.fromEntries(EXCEPTIONS.map(([name], i) => [name, answer.exceptions[i]]));
    expect(byName.ValueError).toMatchObject({ type: 'ValueError', is_value_error: true, str: 'custom' });
    expect(byName['JS RangeError']).toMatchObject({ type: 'ValueError', is_value_error: true, str: 'out of range' });
    expect(byName['JS TypeError']).toMatchObject({ type: 'TypeError', module: 'builtins', str: 'js type' });
    expect(byName['JS Error']).toMatchObject({ type: 'Exception', module: 'builtins', str: 'plain' });
    expect(byName.KeyError).toMatchObject({ is_key_error: true, str: "'k'" });
    expect(byName['several args']).toMatchObject({ str: "('a', 2, None)" });
    expect(byName.NotRegistered).toMatchObject({ is_key_error: true });
    expect(byName['JS-only class']).toMatchObject({ type: 'HttpFailure', str: '503 upstream' });
    EXCEPTIONS.forEach(([name, error], i) => {
      // billiard's TimeLimitExceeded has its own __str__ ("TimeLimitExceeded(30,)")
      if (name === 'TimeLimitExceeded') return;
      // our traceback text ends the way Python's last line would for the same exception
      const last = formatTraceback(error).trimEnd().split('\n').pop()!;
      const py = answer.exceptions[i];
      expect([name, last.endsWith(`: ${py.str as string}`)]).toEqual([name, true]);
    });
  });

  test('kombu decodes every body we encode (json, msgpack, yaml; plain and zlib)', () => {
    bodies.forEach((b, i) => {
      expect([b.serializer, b.compression, answer.bodies[i]]).toEqual([b.serializer, b.compression, plain(BODY_VALUES[b.serializer])]);
    });
  });

  test("we decode every body kombu's serializers write", () => {
    const accept = new AcceptContent(['json', 'msgpack', 'yaml']);
    for (const b of answer.python_bodies) {
      const value = decodeBody(
        { body: Buffer.from(b.body, 'base64'), contentType: b.content_type, contentEncoding: b.content_encoding, headers: { compression: b.compression } },
        accept,
      );
      const expected = JSON.parse(JSON.stringify(plain(BODY_VALUES[b.serializer]), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))) as unknown;
      const seen = JSON.parse(JSON.stringify(plain(value), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))) as unknown;
      if (b.serializer === 'json') {
        // NaN survives as NaN, which JSON.stringify turns into null on both sides
        expect(seen).toEqual(expected);
      } else {
        expect([b.serializer, seen]).toEqual([b.serializer, expected]);
      }
    }
  });
});
