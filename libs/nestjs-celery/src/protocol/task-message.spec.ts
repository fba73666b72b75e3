import { hostname } from 'node:os';
import fc from 'fast-check';
import { createTaskMessage, decodeTaskMessage, defaultOrigin, type TaskMessageOptions } from './task-message.js';
import { InvalidTaskError } from './errors.js';
import type { SignatureDict } from './signature.js';

const sig = (task: string, args: unknown[] = []): SignatureDict => ({ task, args, kwargs: {}, options: {}, subtask_type: null, immutable: false });
const base: TaskMessageOptions = { id: 'id-1', task: 'tasks.add', args: [2, 2], replyTo: 'oid-1' };

describe('createTaskMessage (as_task_v2 + send_task)', () => {
  test('writes the sixteen Celery 5.2 headers in its order, with defaults', () => {
    const { headers, properties, body } = createTaskMessage(base);
    expect(Object.keys(headers)).toEqual([
      'lang', 'task', 'id', 'shadow', 'eta', 'expires', 'group', 'group_index', 'retries', 'timelimit',
      'root_id', 'parent_id', 'argsrepr', 'kwargsrepr', 'origin', 'ignore_result',
    ]); // prettier-ignore
    expect(headers).toEqual({
      lang: 'py',
      task: 'tasks.add',
      id: 'id-1',
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: 'id-1',
      parent_id: null,
      argsrepr: '(2, 2)',
      kwargsrepr: '{}',
      origin: `gen${process.pid}@${hostname()}`,
      ignore_result: false,
    });
    expect(properties).toEqual({ correlationId: 'id-1', replyTo: 'oid-1', deliveryMode: 2 });
    expect(body).toEqual([[2, 2], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
  });

  test('every option lands where Celery puts it', () => {
    const now = new Date('2024-05-01T10:00:00Z');
    const m = createTaskMessage({
      ...base,
      kwargs: { k: 'v' },
      eta: new Date('2024-05-01T10:01:00.5Z'),
      expires: new Date('2024-05-01T10:02:00.25Z'),
      now,
      retries: 3,
      timeLimit: [30, 20],
      rootId: 'root',
      parentId: 'parent',
      group: 'g',
      groupIndex: 1,
      shadow: 'nice-name',
      ignoreResult: true,
      priority: 5,
      origin: 'gen1@h',
      callbacks: [sig('cb')],
      errbacks: [sig('eb')],
      chain: [sig('c2'), sig('c1')],
      chord: sig('body'),
    });
    expect(m.headers).toMatchObject({
      eta: '2024-05-01T10:01:00.500000+00:00',
      expires: '2024-05-01T10:02:00.250000+00:00',
      retries: 3,
      timelimit: [30, 20],
      root_id: 'root',
      parent_id: 'parent',
      group: 'g',
      group_index: 1,
      shadow: 'nice-name',
      ignore_result: true,
      origin: 'gen1@h',
      kwargsrepr: "{'k': 'v'}",
    });
    expect(m.properties).toEqual({ correlationId: 'id-1', replyTo: 'oid-1', deliveryMode: 2, priority: 5, expiration: '120250' });
    expect(m.body[2]).toEqual({ callbacks: [sig('cb')], errbacks: [sig('eb')], chain: [sig('c2'), sig('c1')], chord: sig('body') });
  });

  test('timelimit is [hard, soft] and never holds undefined (amqplib throws on undefined in arrays)', () => {
    expect(createTaskMessage({ ...base, timeLimit: [null, 5] }).headers.timelimit).toEqual([null, 5]);
    const loose = createTaskMessage({ ...base, timeLimit: [undefined as unknown as null, 7] }).headers.timelimit;
    expect(loose).toEqual([null, 7]);
  });

  test('expiration: ms until expires, truncated like int(), clamped at 0 when already past', () => {
    const now = new Date('2024-05-01T10:00:00Z');
    expect(createTaskMessage({ ...base, expires: new Date(now.getTime() + 1999), now }).properties.expiration).toBe('1999');
    expect(createTaskMessage({ ...base, expires: new Date(now.getTime() - 5000), now }).properties.expiration).toBe('0');
    expect(createTaskMessage(base).properties).not.toHaveProperty('expiration');
  });

  test('priority 0 is kept; no priority means no property', () => {
    expect(createTaskMessage({ ...base, priority: 0 }).properties.priority).toBe(0);
    expect(createTaskMessage(base).properties).not.toHaveProperty('priority');
  });

  test('an empty root_id falls back to the id (as_task_v2)', () => {
    expect(createTaskMessage({ ...base, rootId: '' }).headers.root_id).toBe('id-1');
  });

  test('extra headers are merged, never overriding the standard ones', () => {
    const m = createTaskMessage({ ...base, headers: { custom: 1, id: 'evil', task: 'other', skipped: undefined } });
    expect(m.headers.custom).toBe(1);
    expect(m.headers.id).toBe('id-1');
    expect(m.headers.task).toBe('tasks.add');
    expect(m.headers).not.toHaveProperty('skipped');
  });

  test('argsrepr/kwargsrepr can be overridden (Celery argsrepr= option), and are saferepr by default', () => {
    expect(createTaskMessage({ ...base, argsrepr: '(***)', kwargsrepr: '{}' }).headers.argsrepr).toBe('(***)');
    expect(createTaskMessage({ ...base, args: [[1, 2]] }).headers.argsrepr).toBe('([1, 2],)');
    expect(createTaskMessage({ ...base, args: [] }).headers.argsrepr).toBe('()');
  });

  test('args must be a list and kwargs a mapping (TypeError, as in as_task_v2)', () => {
    expect(() => createTaskMessage({ ...base, args: 'x' as unknown as unknown[] })).toThrow(TypeError);
    expect(() => createTaskMessage({ ...base, kwargs: [] as unknown as Record<string, unknown> })).toThrow(/mapping/);
  });

  test('defaultOrigin is anon_nodename: gen<pid>@<hostname>', () => {
    expect(defaultOrigin()).toBe(`gen${process.pid}@${hostname()}`);
  });
});

describe('decodeTaskMessage: protocol 2', () => {
  const encoded = createTaskMessage({
    ...base,
    kwargs: { k: 1 },
    eta: new Date('2024-05-01T10:01:00Z'),
    expires: new Date('2024-05-01T10:02:00.123Z'),
    timeLimit: [30, 20],
    parentId: 'p',
    group: 'g',
    groupIndex: 0,
    shadow: 'shown',
    chain: [sig('next')],
  });

  test('fills every TaskRequest field', () => {
    const req = decodeTaskMessage(encoded.headers, encoded.properties, encoded.body);
    expect(req).toEqual({
      protocol: 2,
      id: 'id-1',
      task: 'tasks.add',
      name: 'shown',
      args: [2, 2],
      kwargs: { k: 1 },
      embed: { callbacks: null, errbacks: null, chain: [sig('next')], chord: null },
      headers: encoded.headers,
      eta: new Date('2024-05-01T10:01:00Z'),
      expires: new Date('2024-05-01T10:02:00.123Z'),
      retries: 0,
      timeLimit: [30, 20],
      rootId: 'id-1',
      parentId: 'p',
      groupId: 'g',
      groupIndex: 0,
      ignoreResult: false,
      replyTo: 'oid-1',
      correlationId: 'id-1',
      stampedHeaders: [],
      stamps: {},
    });
  });

  test('a null embed is allowed (request.update(**embed or {}))', () => {
    const req = decodeTaskMessage(encoded.headers, {}, [[1], {}, null]);
    expect(req.embed).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null });
  });

  test('unknown headers are kept; snake_case properties are read too', () => {
    const req = decodeTaskMessage({ ...encoded.headers, stamps: { a: 1 }, replaced_task_nesting: 2 }, { reply_to: 'r', correlation_id: 'c' }, encoded.body);
    expect(req.headers.stamps).toEqual({ a: 1 });
    expect(req.headers.replaced_task_nesting).toBe(2);
    expect(req.replyTo).toBe('r');
    expect(req.correlationId).toBe('c');
  });

  test('minimal headers get Celery defaults', () => {
    const req = decodeTaskMessage({ id: 'x', task: 't' }, {}, [[], {}, null]);
    expect(req).toMatchObject({
      rootId: 'x',
      parentId: null,
      retries: 0,
      timeLimit: [null, null],
      eta: null,
      expires: null,
      ignoreResult: false,
      replyTo: null,
      correlationId: 'x',
      name: 't',
    });
    expect(req.headers).toMatchObject({ lang: 'py', argsrepr: '[]', kwargsrepr: '{}' });
  });

  test('an empty eta string means no eta (maybe_iso8601)', () => {
    expect(decodeTaskMessage({ id: 'x', task: 't', eta: '' }, {}, [[], {}, null]).eta).toBeNull();
  });

  const invalid: [string, Record<string, unknown>, unknown, RegExp, string | undefined][] = [
    ['no id header', { task: 't' }, [[], {}, null], /no id/, undefined],
    ['a 2-element body', { id: 'x', task: 't' }, [[], {}], /3-element list/, 'x'],
    ['a dict body without args', { id: 'x', task: 't' }, { kwargs: {} }, /3-element list/, 'x'],
    ['args not a list', { id: 'x', task: 't' }, ['a', {}, null], /args must be a list/, 'x'],
    ['kwargs not a mapping', { id: 'x', task: 't' }, [[], [], null], /mapping/, 'x'],
    ['kwargs null', { id: 'x', task: 't' }, [[], null, null], /mapping/, 'x'],
    ['an embed that is a list', { id: 'x', task: 't' }, [[], {}, []], /embed/, 'x'],
    ['embed.chain not a list', { id: 'x', task: 't' }, [[], {}, { chain: {} }], /embed.chain/, 'x'],
    ['embed.chord not a signature', { id: 'x', task: 't' }, [[], {}, { chord: 'x' }], /embed.chord/, 'x'],
    ['an unparseable eta', { id: 'x', task: 't', eta: 'tomorrow' }, [[], {}, null], /invalid ETA value "tomorrow"/, 'x'],
    ['an unparseable expires', { id: 'x', task: 't', expires: '2024-13-01' }, [[], {}, null], /invalid expires value/, 'x'],
    ['a numeric eta', { id: 'x', task: 't', eta: 5 }, [[], {}, null], /invalid ETA/, 'x'],
    ['a bad timelimit', { id: 'x', task: 't', timelimit: [1] }, [[], {}, null], /timelimit/, 'x'],
    ['a non-integer retries', { id: 'x', task: 't', retries: 'many' }, [[], {}, null], /retries/, 'x'],
    ['an empty task name', { id: 'x', task: '' }, [[], {}, null], /task name/, 'x'],
  ];
  test.each(invalid)('%s → InvalidTaskError', (_name, headers, body, message, taskId) => {
    expect(() => decodeTaskMessage(headers, {}, body)).toThrow(InvalidTaskError);
    expect(() => decodeTaskMessage(headers, {}, body)).toThrow(message);
    try {
      decodeTaskMessage(headers, {}, body);
    } catch (err) {
      expect((err as InvalidTaskError).taskId).toBe(taskId);
    }
  });
});

describe('decodeTaskMessage: protocol 1 (hybrid_to_proto2)', () => {
  const v1 = {
    task: 'tasks.add',
    id: 'v1-id',
    args: [5, 6],
    kwargs: {},
    group: 'ts-1',
    group_index: null,
    retries: 0,
    eta: '2024-05-01T10:00:30.822443+00:00',
    expires: null,
    utc: true,
    callbacks: [sig('cb')],
    errbacks: null,
    timelimit: [null, null],
    taskset: 'ts-1',
    chord: null,
  };

  test('a body dict without a task header converts to a v2 request', () => {
    const req = decodeTaskMessage({}, { correlationId: 'v1-id', replyTo: 'oid' }, v1);
    expect(req).toMatchObject({
      protocol: 1,
      id: 'v1-id',
      task: 'tasks.add',
      name: 'tasks.add',
      args: [5, 6],
      kwargs: {},
      embed: { callbacks: [sig('cb')], errbacks: null, chord: null, chain: null },
      eta: new Date('2024-05-01T10:00:30.822Z'),
      rootId: 'v1-id',
      groupId: 'ts-1',
      replyTo: 'oid',
    });
    expect(req.headers).toMatchObject({ task: 'tasks.add', id: 'v1-id', argsrepr: '[5, 6]', lang: 'py' });
  });

  test('an old body with only taskset still gets its group', () => {
    const { group: _group, ...old } = v1;
    expect(decodeTaskMessage({}, {}, old).groupId).toBe('ts-1');
  });

  test('message headers are laid over the body fields', () => {
    const req = decodeTaskMessage({ task: 'tasks.other', retries: 2 }, {}, v1);
    expect(req.task).toBe('tasks.other');
    expect(req.retries).toBe(2);
    expect(req.protocol).toBe(1);
  });

  test('a v1 body without args runs with no args (proto1_to_proto2)', () => {
    const req = decodeTaskMessage({}, {}, { task: 't', id: 'i' });
    expect(req.args).toEqual([]);
    expect(req.kwargs).toEqual({});
  });

  test('v1 kwargs must be a mapping', () => {
    expect(() => decodeTaskMessage({}, {}, { task: 't', id: 'i', args: [], kwargs: null })).toThrow(/mapping/);
  });

  test('no task header and no task in the body is not a task message', () => {
    expect(() => decodeTaskMessage({}, {}, [[], {}, null])).toThrow(/not a Celery task message/);
    expect(() => decodeTaskMessage({}, {}, { id: 'i', args: [] })).toThrow(InvalidTaskError);
    try {
      decodeTaskMessage({}, {}, { id: 'i', args: [] });
    } catch (err) {
      expect((err as InvalidTaskError).taskId).toBe('i');
    }
  });
});

test('property: decodeTaskMessage(createTaskMessage(o)) gives back every option', () => {
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const date = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true });
  const options = fc.record({
    id: fc.uuid(),
    task: fc.string({ minLength: 1 }),
    args: fc.array(fc.jsonValue(), { maxLength: 4 }),
    kwargs: fc.dictionary(
      fc.string().filter((k) => k !== '__proto__'),
      fc.jsonValue(),
      { maxKeys: 4 },
    ),
    eta: maybe(date),
    expires: maybe(date),
    retries: maybe(fc.nat(100)),
    timeLimit: maybe(fc.tuple(fc.option(fc.nat(1000)), fc.option(fc.nat(1000)))),
    rootId: maybe(fc.uuid()),
    parentId: maybe(fc.uuid()),
    group: maybe(fc.uuid()),
    groupIndex: maybe(fc.nat(50)),
    shadow: maybe(fc.string({ minLength: 1 })),
    ignoreResult: maybe(fc.boolean()),
    replyTo: fc.uuid(),
    priority: maybe(fc.nat(9)),
  });
  fc.assert(
    fc.property(options, (o) => {
      const m = createTaskMessage(o);
      const req = decodeTaskMessage(m.headers, m.properties, m.body);
      expect(req).toMatchObject({
        protocol: 2,
        id: o.id,
        task: o.task,
        name: o.shadow || o.task,
        args: o.args,
        kwargs: o.kwargs,
        eta: o.eta ?? null,
        expires: o.expires ?? null,
        retries: o.retries ?? 0,
        timeLimit: o.timeLimit ?? [null, null],
        rootId: o.rootId ?? o.id,
        parentId: o.parentId ?? null,
        groupId: o.group ?? null,
        groupIndex: o.groupIndex ?? null,
        ignoreResult: o.ignoreResult ?? false,
        replyTo: o.replyTo,
        correlationId: o.id,
      });
      expect(req.headers).toEqual(m.headers);
    }),
    { numRuns: 200 },
  );
});

describe('decodeTaskMessage bounds (names and ids become log fields and backend keys)', () => {
  const headers = (extra: Record<string, unknown> = {}) => ({ ...createTaskMessage(base).headers, ...extra });

  test('a task name over maxTaskNameLength is an InvalidTaskError carrying the id (FAILURE can be stored), its text clipped', () => {
    const name = 'n'.repeat(1024 * 1024);
    let error: unknown;
    try {
      decodeTaskMessage(headers({ task: name }), {}, [[], {}, null]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidTaskError);
    expect((error as InvalidTaskError).taskId).toBe('id-1');
    expect((error as Error).message).toMatch(/task name "n{64}"… of 1048576 characters is over the 512-character limit \(maxTaskNameLength\)/);
    expect((error as Error).message.length).toBeLessThan(300);
    expect(() => decodeTaskMessage(headers({ shadow: 's'.repeat(600) }), {}, [[], {}, null])).toThrow(/shadow name/);
    expect(decodeTaskMessage(headers({ task: 'n'.repeat(600) }), {}, [[], {}, null], { maxTaskNameLength: 600 }).task).toHaveLength(600);
  });

  test('an id over maxTaskIdLength is refused without an id to store under; root/parent/group ids too', () => {
    let error: unknown;
    try {
      decodeTaskMessage(headers({ id: 'i'.repeat(100_000) }), {}, [[], {}, null]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidTaskError);
    expect((error as InvalidTaskError).taskId).toBeUndefined();
    expect((error as Error).message).toMatch(/over the 256-character limit \(maxTaskIdLength\)/);
    for (const key of ['root_id', 'parent_id', 'group']) {
      expect(() => decodeTaskMessage(headers({ [key]: 'g'.repeat(300) }), {}, [[], {}, null])).toThrow(new RegExp(`${key} .*maxTaskIdLength`));
    }
  });
});
