/**
 * Celery 5.3+ stamps both ways against real Python Celery 5.5/5.6, on RabbitMQ and Redis (Redis
 * backend): a Python-stamped chain, chord and link keep their stamps through our worker into
 * the Python worker's steps; our client's stamps reach Python workers; revoke_by_stamped_headers
 * from Python gets Python's replies from our worker and revokes there, and ours revokes on a
 * Python worker. Every scenario was first run with a Python worker in our place (test 1 keeps a
 * Python-only chain as the reference).
 */
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { chain, chord, signature } from '../../libs/nestjs-celery/src/engine/canvas/index.js';
import { Celery } from '../../libs/nestjs-celery/src/engine/celery.js';
import type { TaskContext } from '../../libs/nestjs-celery/src/engine/worker/task-context.js';
import { Worker } from '../../libs/nestjs-celery/src/engine/worker/worker.js';
import { deleteQueues } from '../support/cleanup.js';
import { PYTHON_DIR, celeryPeers, envFor, startPythonWorker, type PythonEnv, type PythonWorker } from '../support/python.js';
import { AMQP_URL, PYTHON, REDIS_URL, describeIfAvailable, uniqueName } from '../support/services.js';

// several Python processes per test: at load average 26 on 2 cores one test took over 90 s
jest.setTimeout(240_000);

/** Celery 5.3+ peers only: 5.2 has no stamping. */
const PEERS = celeryPeers().filter((p) => p.version !== '5.2');
const describeInterop = await describeIfAvailable('stamps interop with Python Celery 5.5+', 'redis', 'rabbitmq', 'celery-5.5', 'celery-5.6');
const BROKERS = { rabbitmq: AMQP_URL, redis: REDIS_URL } as const;
const MATRIX = PEERS.flatMap((peer) => (Object.keys(BROKERS) as (keyof typeof BROKERS)[]).map((broker) => [peer.version, broker, peer] as const));
const T = { timeout: 40_000 };

/** What a stamps task returns: the stamps its request carried. */
interface Seen {
  stamped_headers: string[];
  stamps: Record<string, unknown>;
}

/** Run test/interop/python/stamps_client.py with one request. */
function stampsClient<T>(env: PythonEnv, request: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(PYTHON_DIR, 'stamps_client.py')], { env: envFor(env), cwd: PYTHON_DIR });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 80_000);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve(JSON.parse(out) as T);
      } catch (error) {
        reject(new Error(`stamps_client.py ${String(request.op)}: ${(error as Error).message}\n${out}\n${err}`));
      }
    });
    child.stdin.end(JSON.stringify(request));
  });
}

const seenOf = (ctx: TaskContext): Seen => ({ stamped_headers: [...ctx.stampedHeaders].sort(), stamps: ctx.stamps });

describeInterop.each(MATRIX)('stamps: Python %s, %s broker', (_version, brokerName, peer) => {
  const brokerUrl = BROKERS[brokerName];
  const nodeQ = uniqueName('stamps.node');
  const pyQ = uniqueName('stamps.py');
  const nodeName = `${uniqueName('nest-stamps')}@${hostname()}`;
  const py: PythonEnv = { broker: brokerUrl, backend: REDIS_URL, queue: pyQ, peer: peer.peer };
  const onNode = (task: string, extra: Record<string, unknown> = {}) => ({ task, queue: nodeQ, ...extra });
  const onPy = (task: string, extra: Record<string, unknown> = {}) => ({ task, queue: pyQ, ...extra });
  let workerApp: Celery;
  let client: Celery;
  let worker: Worker;
  let pyWorker: PythonWorker;
  let pyNode: string;
  /** running nest.wait tasks, released by the test */
  const waiting = new Map<string, (v: unknown) => void>();

  beforeAll(async () => {
    workerApp = new Celery({ broker: brokerUrl, backend: REDIS_URL, taskDefaultQueue: nodeQ, resultExpires: 3600, logger: silentLogger });
    worker = new Worker(workerApp, { queues: [nodeQ], concurrency: 4, hostname: nodeName, logger: silentLogger });
    worker.register('nest.stamps', (_args, _kwargs, ctx) => seenOf(ctx));
    worker.register(
      'nest.wait',
      (_args, _kwargs, ctx) =>
        new Promise((resolve, reject) => {
          waiting.set(ctx.id, resolve);
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        }),
    );
    await worker.start();
    pyWorker = await startPythonWorker(py, ['--include', 'stamps_tasks']);
    pyNode = pyWorker.output().match(/(py-\d+-[a-z0-9]+@[\w.-]+)/)?.[1] ?? '';
    client = new Celery({ broker: brokerUrl, backend: REDIS_URL, resultExpires: 3600, logger: silentLogger });
  });

  afterAll(async () => {
    await pyWorker?.stop();
    await worker?.stop(1000);
    await workerApp?.close();
    await client?.close();
    await deleteQueues(brokerUrl, [nodeQ, pyQ]);
  });

  const expected = (stamps: Record<string, unknown>): Seen => ({ stamped_headers: Object.keys(stamps).sort(), stamps });

  test('a Python-stamped chain keeps its stamps through our worker (Python-only chain as the reference)', async () => {
    const stamps = { trace: uniqueName('t'), teams: ['a', 'b'] };
    const reference = await stampsClient<Seen[]>(py, { op: 'chain', steps: [onPy('py.stamps'), onPy('py.stamps')], stamps });
    expect(reference).toEqual([expected(stamps), expected(stamps)]);
    const mixed = await stampsClient<Seen[]>(py, {
      op: 'chain',
      steps: [onPy('py.stamps'), onNode('nest.stamps'), onNode('nest.stamps'), onPy('py.stamps')],
      stamps,
    });
    expect(mixed).toEqual([expected(stamps), expected(stamps), expected(stamps), expected(stamps)]);
  });

  test('a Python-stamped chord body and link are published by our worker with their stamps', async () => {
    const stamps = { trace: uniqueName('c') };
    const reference = await stampsClient<Seen>(py, { op: 'chord', header: [onPy('py.stamps'), onPy('py.stamps')], body: onPy('py.stamps'), stamps });
    expect(reference).toEqual(expected(stamps));
    const body = await stampsClient<Seen>(py, { op: 'chord', header: [onNode('nest.stamps'), onNode('nest.stamps')], body: onPy('py.stamps'), stamps });
    expect(body).toEqual(expected(stamps));
    const linked = await stampsClient<Seen>(py, { op: 'link', task: onNode('nest.stamps'), link: onPy('py.stamps'), stamps });
    expect(linked).toEqual(expected(stamps));
  });

  test('our client stamps: a signature and a chain reach the Python worker with their stamps', async () => {
    const stamps = { trace: uniqueName('n'), tenant: 7 };
    const one = await signature('py.stamps', [], {}, { queue: pyQ }).stamp(stamps).applyAsync(client);
    expect(await one.get(T)).toEqual(expected(stamps));
    const steps = chain(
      signature('py.stamps', [], {}, { queue: pyQ }),
      signature('nest.stamps', [], {}, { queue: nodeQ }),
      signature('py.stamps', [], {}, { queue: pyQ }),
    );
    const last = await steps.stamp(stamps).applyAsync(client);
    expect(await last.get(T)).toEqual(expected(stamps));
    expect(await (last.parent as typeof last).get(T)).toEqual(expected(stamps));
    // a chord: our stamp() reaches the header and the body (Python's only with a visitor)
    const header = [signature('nest.stamps', [], {}, { queue: nodeQ }), signature('py.stamps', [], {}, { queue: pyQ })];
    const linkId = uniqueName('link');
    const body = await chord(header, signature('nest.stamps', [], {}, { queue: nodeQ }).link(signature('py.stamps', [], {}, { queue: pyQ, taskId: linkId })))
      .stamp(stamps)
      .applyAsync(client);
    expect(await body.get(T)).toEqual(expected(stamps));
    expect(await client.asyncResult(linkId).get(T)).toEqual(expected(stamps));
    // and with a send option
    const sent = await client.sendTask('nest.stamps', [], {}, { queue: nodeQ, stamps });
    expect(await sent.get(T)).toEqual(expected(stamps));
  });

  test("Python's revoke_by_stamped_headers: our worker replies as Python's does and revokes incoming, scheduled and running tasks", async () => {
    const flag = uniqueName('r');
    const toNode: PythonEnv = { ...py, queue: nodeQ };
    // the same request against the Python worker and ours: the same reply text
    const [pyReply] = await stampsClient<Record<string, { ok: string }>[]>(py, { op: 'revoke', headers: { trace: flag }, destination: [pyNode] });
    const [ourReply] = await stampsClient<Record<string, { ok: string }>[]>(py, { op: 'revoke', headers: { trace: flag }, destination: [nodeName] });
    expect(Object.values(pyReply)[0]).toEqual({ ok: `headers {'trace': '${flag}'} flagged as revoked, but not terminated` });
    expect(ourReply).toEqual({ [nodeName]: Object.values(pyReply)[0] });
    // an incoming task stamped so is skipped: REVOKED, as on the Python worker
    const revokedId = await stampsClient<string>(toNode, { op: 'send', task: onNode('nest.stamps'), stamps: { trace: flag } });
    const pyRevokedId = await stampsClient<string>(py, { op: 'send', task: onPy('py.stamps'), stamps: { trace: flag } });
    const otherId = await stampsClient<string>(toNode, { op: 'send', task: onNode('nest.stamps'), stamps: { trace: `${flag}-other` } });
    const states = await stampsClient<Record<string, [string, string]>>(py, { op: 'state', ids: [revokedId, pyRevokedId, otherId] });
    expect(states[revokedId]).toEqual(['REVOKED', "TaskRevokedError('revoked')"]);
    expect(states[pyRevokedId]).toEqual(states[revokedId]);
    expect(states[otherId][0]).toBe('SUCCESS');

    // a countdown task flagged while it waits is skipped when its ETA comes
    const later = uniqueName('eta');
    // (Python sends it and revokes once `inspect scheduled` shows our worker holding it: no race with a slow start)
    const scheduled = await stampsClient<{ id: string }>(toNode, {
      op: 'revoke_scheduled',
      task: onNode('nest.stamps'),
      stamps: { trace: later },
      countdown: 5,
      headers: { trace: [later] },
      destination: [nodeName],
    });
    await expect(client.asyncResult(scheduled.id).get(T)).rejects.toMatchObject({ excType: 'TaskRevokedError' });

    // terminate: a running task stamped so is aborted, REVOKED('terminated'), and the reply names the match
    const running = uniqueName('run');
    const task = await client.sendTask('nest.wait', [], {}, { queue: nodeQ, stamps: { trace: running } });
    for (const end = Date.now() + 40_000; !waiting.has(task.id);) {
      if (Date.now() > end) throw new Error(`nest.wait never started (active ${worker.activeCount}, running ${[...worker.running.keys()].join(',')})`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const [terminated] = await stampsClient<Record<string, { ok: string }>[]>(py, {
      op: 'revoke',
      headers: { trace: running },
      terminate: true,
      destination: [nodeName],
    });
    expect(terminated).toEqual({ [nodeName]: { ok: `headers defaultdict(<class 'set'>, {'trace': {'${running}'}}) revoked` } });
    const [none] = await stampsClient<Record<string, { ok: string }>[]>(py, {
      op: 'revoke',
      headers: { trace: 'nobody' },
      terminate: true,
      destination: [nodeName],
    });
    expect(none).toEqual({ [nodeName]: { ok: "headers {'trace': 'nobody'} were not terminated" } });
    const finals = await stampsClient<Record<string, [string, string]>>(py, { op: 'state', ids: [task.id] });
    expect(finals[task.id]).toEqual(['REVOKED', "TaskRevokedError('terminated')"]);
  });

  test('our client revokes by stamp on a Python worker', async () => {
    const flag = uniqueName('our');
    const replies = await client.control.revokeByStampedHeaders({ trace: [flag] }, { destination: [pyNode], reply: true, timeout: 5000 });
    expect(replies).toEqual([{ [pyNode]: { ok: `headers {'trace': ['${flag}']} flagged as revoked, but not terminated` } }]);
    const revoked = await client.sendTask('py.stamps', [], {}, { queue: pyQ, stamps: { trace: flag } });
    await expect(revoked.get(T)).rejects.toMatchObject({ excType: 'TaskRevokedError' });
    const other = await client.sendTask('py.stamps', [], {}, { queue: pyQ, stamps: { trace: `${flag}-no` } });
    expect(await other.get(T)).toEqual(expected({ trace: `${flag}-no` }));
  });
});
