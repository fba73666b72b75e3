/**
 * The example fleet (docker-compose.yml, deploy/): what can be proven here without a Docker engine. The file's
 * shape (healthchecks, depends_on service_healthy, non-root images, nothing installed at start, Prometheus
 * targets, the env names the apps read), and its commands run as written: the Python worker's and the
 * producer's from the compose file beside the Nest worker app, on the local RabbitMQ and Redis, per Celery peer.
 */
import { expect } from '@jest/globals';
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { load as loadYaml } from 'js-yaml';
import { CeleryHealthIndicator, CeleryServer } from 'nestjs-celery';
import { celeryOptionsFromEnv, workerOptionsFromEnv } from '../../apps/shared/celery-env.js';
import { healthResponse } from '../../apps/shared/health.js';
import { startMetricsServer } from '../../apps/worker/src/metrics-server.js';
import { WorkerModule } from '../../apps/worker/src/worker.module.js';
import { deleteAmqpQueues } from '../support/cleanup.js';
import { eventually } from '../support/eventually.js';
import { CELERY_PEERS, pythonPathFor } from '../support/peers.js';
import { peerSuites } from '../support/python.js';
import { AMQP_URL, PYTHON, REDIS_URL, uniqueName } from '../support/services.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  volumes?: string[];
  hostname?: string;
}
/** YAML merge keys (`<<: *celery-env`) applied, as Compose applies them. */
function merged(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(merged);
  if (!node || typeof node !== 'object') return node;
  const { '<<': base, ...own } = node as Record<string, unknown>;
  const bases = (Array.isArray(base) ? base : base ? [base] : []).map(merged) as object[];
  return Object.assign({}, ...bases, Object.fromEntries(Object.entries(own).map(([k, v]) => [k, merged(v)])));
}
const compose = merged(loadYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'))) as { services: Record<string, Service> };
const services = compose.services;

/** A Dockerfile's stages: instructions with continuation lines joined, comments dropped. */
interface Stage {
  name: string;
  from: string;
  instructions: { keyword: string; args: string }[];
}
function parseDockerfile(path: string): Stage[] {
  const lines = readFileSync(path, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [keyword, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const [from, , name] = rest;
      stages.push({ from, name: name ?? String(stages.length), instructions: [] });
    } else stages.at(-1)!.instructions.push({ keyword: keyword.toUpperCase(), args });
  }
  return stages;
}

/** The last `keyword` of a stage, looked up through the stages it is built FROM. */
function effective(stages: Stage[], stage: Stage, keyword: string): string | undefined {
  const own = stage.instructions.filter((i) => i.keyword === keyword).at(-1);
  if (own) return own.args;
  const parent = stages.find((s) => s.name === stage.from);
  return parent ? effective(stages, parent, keyword) : undefined;
}

/** The Dockerfile and stage a built service runs. */
function imageOf(service: Service): { path: string; stages: Stage[]; stage: Stage } {
  const path = join(ROOT, service.build!.context, service.build!.dockerfile ?? 'Dockerfile');
  const stages = parseDockerfile(path);
  const stage = service.build!.target ? stages.find((s) => s.name === service.build!.target) : stages.at(-1);
  if (!stage) throw new Error(`${path} has no stage ${service.build!.target}`);
  return { path, stages, stage };
}

const execForm = (args: string): string[] => JSON.parse(args.replace(/^CMD\s+/, '')) as string[];
const oneShot = (s: Service) => s.restart === 'no';
const healthcheckOf = (s: Service): string | undefined =>
  s.healthcheck ? s.healthcheck.test.join(' ') : s.build ? effective(imageOf(s).stages, imageOf(s).stage, 'HEALTHCHECK') : undefined;

/** Every source file under `dir` (specs aside) with one of these extensions. */
function sources(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext) && !e.name.endsWith(`.spec${ext}`))
    .map((e) => join(e.parentPath, e.name));
}

describe('docker-compose.yml: the example fleet', () => {
  test('every long-running service has a healthcheck; every dependency waits for service_healthy', () => {
    for (const [name, service] of Object.entries(services)) {
      if (!oneShot(service)) expect({ name, healthcheck: healthcheckOf(service) }).toEqual({ name, healthcheck: expect.any(String) });
      for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect({ name, dep, condition }).toEqual({ name, dep, condition: 'service_healthy' });
        expect(services[dep]).toBeDefined();
        expect(healthcheckOf(services[dep])).toEqual(expect.any(String));
      }
    }
    // the apps and workers wait for both brokers, the producer for both workers
    for (const name of ['worker', 'api', 'python-worker']) expect(Object.keys(services[name].depends_on ?? {}).sort()).toEqual(['rabbitmq', 'redis']);
    expect(Object.keys(services.producer.depends_on ?? {}).sort()).toEqual(['python-worker', 'worker']);
    // the Nest images' healthchecks ask the apps' /health on the port the app serves
    expect(healthcheckOf(services.worker)).toContain("process.env.METRICS_PORT+'/health'");
    expect(healthcheckOf(services.api)).toContain("process.env.PORT+'/health'");
    expect(healthcheckOf(services['python-worker'])).toContain(`python@${services['python-worker'].hostname}`);
  });

  test('one RabbitMQ 4.x and one Redis: every Celery service uses them', () => {
    expect(services.rabbitmq.image).toMatch(/^rabbitmq:4\.\d+/);
    expect(services.redis.image).toMatch(/^redis:/);
    const celery = Object.entries(services).filter(([, s]) => s.environment?.CELERY_BROKER_URL);
    expect(celery.map(([n]) => n).sort()).toEqual(['api', 'producer', 'python-worker', 'worker']);
    for (const [, s] of celery) {
      expect(new URL(s.environment!.CELERY_BROKER_URL).host).toBe('rabbitmq:5672');
      expect(new URL(s.environment!.CELERY_RESULT_BACKEND).host).toBe('redis:6379');
    }
  });

  test('images are multi-stage where they build, and run as a non-root user', () => {
    for (const [name, service] of Object.entries(services).filter(([, s]) => s.build)) {
      const { stages, stage } = imageOf(service);
      const user = effective(stages, stage, 'USER');
      expect({ name, user }).toEqual({ name, user: expect.stringMatching(/^(?!root\b|0\b)\S+/) });
    }
    const nest = imageOf(services.worker);
    expect(nest.stages.map((s) => s.name)).toEqual(['build', 'runtime', 'worker', 'api']);
    // the runtime takes the built output from the build stage, not the sources
    expect(nest.stages[1].instructions.filter((i) => i.keyword === 'COPY').every((i) => i.args.includes('--from=build'))).toBe(true);
  });

  test('nothing is installed when a container starts: Celery comes from Debian at build time', () => {
    const installs = /\b(pip3?|npm|apt-get|apt|yarn)\b/;
    for (const [name, service] of Object.entries(services)) {
      const run = [...(service.command ?? []), ...(service.entrypoint ?? []), ...(service.healthcheck?.test ?? [])].join(' ');
      expect({ name, run }).toEqual({ name, run: expect.not.stringMatching(installs) });
      if (!service.build) continue;
      const { stages, stage } = imageOf(service);
      for (const k of ['CMD', 'ENTRYPOINT', 'HEALTHCHECK']) {
        expect({ name, [k]: effective(stages, stage, k) ?? '' }).toEqual({ name, [k]: expect.not.stringMatching(installs) });
      }
    }
    const python = imageOf(services['python-worker']);
    const runs = python.stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.join(' ')).toMatch(/apt-get install .*python3-celery .*python3-redis/);
    expect(python.stage.from).toMatch(/^debian:/);
    expect(services.producer.build).toEqual(services['python-worker'].build);
  });

  test("Prometheus scrapes the Nest worker's and the api's /metrics ports", () => {
    expect(services.prometheus.volumes).toContain('./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    const config = loadYaml(readFileSync(join(ROOT, 'deploy/prometheus.yml'), 'utf8')) as {
      scrape_configs: { metrics_path?: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = config.scrape_configs.flatMap((c) => {
      expect(c.metrics_path ?? '/metrics').toBe('/metrics');
      return c.static_configs.flatMap((s) => s.targets);
    });
    expect(targets.sort()).toEqual([`api:${services.api.environment!.PORT}`, `worker:${services.worker.environment!.METRICS_PORT}`]);
  });

  test('the env the compose file sets is what the apps read', () => {
    // names the Nest apps read: process.env.X / env.X, or a 'CELERY_…' literal given to an env reader
    const nestSources = [...sources(join(ROOT, 'apps'), '.ts'), join(ROOT, 'libs/nestjs-celery/src/engine/celery-env.ts')];
    const nestReads = new Set(
      nestSources.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/\benv\.([A-Z][A-Z0-9_]+)|'(CELERY_[A-Z0-9_]+)'/g)].map((m) => m[1] ?? m[2])),
    );
    const pythonSources = sources(join(ROOT, 'deploy/python'), '.py');
    const pythonReads = new Set(pythonSources.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/os\.environ\.get\("([A-Z0-9_]+)"/g)].map((m) => m[1])));
    const read = { worker: nestReads, api: nestReads, 'python-worker': pythonReads, producer: pythonReads } as Record<string, Set<string>>;
    for (const [name, reads] of Object.entries(read)) {
      for (const key of Object.keys(services[name].environment ?? {})) expect({ name, key, read: reads.has(key) }).toEqual({ name, key, read: true });
    }
    // the worker's node name and events: named as `celery worker -n` and -E would
    expect(services.worker.environment).toMatchObject({ CELERY_HOSTNAME: 'nestjs@worker', CELERY_WORKER_SEND_TASK_EVENTS: 'true' });
    expect(services['python-worker'].command).toEqual(expect.arrayContaining(['--hostname=python@%h', '--task-events']));
    // the producer pings the node names the workers take
    expect(services.producer.environment!.FLEET_WORKERS.split(',')).toEqual(['nestjs@worker', `python@${services['python-worker'].hostname}`]);
  });

  test("the Nest images' commands run the apps as `npm run build` compiles them", () => {
    const apps = JSON.parse(readFileSync(join(ROOT, 'apps/tsconfig.app.json'), 'utf8')) as { compilerOptions: { outDir: string } };
    const outDir = posix.join('apps', apps.compilerOptions.outDir); // apps/../dist/apps → dist/apps
    for (const name of ['worker', 'api']) {
      const { stages, stage } = imageOf(services[name]);
      // node, its own options (the worker's --max-semi-space-size), then the compiled entry
      const [node, ...rest] = execForm(effective(stages, stage, 'CMD')!);
      const main = rest.pop();
      expect(node).toBe('node');
      expect(rest.every((option) => option.startsWith('--'))).toBe(true);
      expect(main).toBe(`${outDir}/${name}/src/main.js`);
      expect(existsSync(join(ROOT, 'apps', name, 'src', 'main.ts'))).toBe(true);
      // `npm run start:<app>` runs what the image runs
      expect((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts[`start:${name}`]).toBe(
        ['node', ...rest, main].join(' '),
      );
    }
  });

  test('the runtime image keeps what the apps import: npm prune --omit=dev leaves only dependencies', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; workspaces: string[] };
    const imported = new Set(
      sources(join(ROOT, 'apps'), '.ts').flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/from '([^.'][^']*)'/g)].map((m) =>
          m[1]
            .split('/')
            .slice(0, m[1].startsWith('@') ? 2 : 1)
            .join('/'),
        ),
      ),
    );
    imported.add('@nestjs/platform-express'); // the api's HTTP server: NestFactory.create loads it
    for (const name of [...imported].filter((n) => !n.startsWith('node:'))) {
      const kept =
        name in pkg.dependencies ||
        pkg.workspaces.some((w) => (JSON.parse(readFileSync(join(ROOT, w, 'package.json'), 'utf8')) as { name: string }).name === name);
      expect({ name, kept }).toEqual({ name, kept: true });
    }
  });
});

/** Run a compose command here: its program replaced by this machine's (`celery` → python -m celery). */
function runCommand(command: string[], env: NodeJS.ProcessEnv, onOutput: (all: string) => void = () => undefined) {
  const [program, ...args] = command;
  const argv = program === 'celery' ? ['-m', 'celery', ...args] : program === 'python3' ? args : undefined;
  if (!argv) throw new Error(`no local stand-in for ${program}`);
  const child = spawn(PYTHON, argv, { cwd: join(ROOT, 'deploy/python'), env });
  let output = '';
  const append = (d: Buffer) => {
    output += d.toString();
    onOutput(output);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(kill);
    }
  };
  return { child, output: () => output, exited, stop };
}

const suites = await peerSuites('example fleet: the compose commands on local brokers', 'rabbitmq', 'redis');
for (const { version, describe: describePeer } of suites) {
  describePeer(`example fleet: producer + Nest worker + Python worker (Python Celery ${version})`, () => {
    const id = uniqueName('fleet');
    const queues = { shared: `${id}.celery`, nest: `${id}.nest`, python: `${id}.python` };
    const nestNode = `nestjs-${id}@${hostname()}`;
    const local = { CELERY_BROKER_URL: AMQP_URL, CELERY_RESULT_BACKEND: REDIS_URL };
    const pythonEnv = (service: Service, more: Record<string, string>): NodeJS.ProcessEnv => ({
      ...process.env,
      ...CELERY_PEERS[version].env,
      ...service.environment,
      ...local,
      ...more,
      // only the peer's Celery: fleet.py is found as in the image, from the working directory
      PYTHONPATH: pythonPathFor(version),
      PYTHONUNBUFFERED: '1',
    });
    let worker: INestMicroservice | undefined;
    let pythonWorker: ReturnType<typeof runCommand> | undefined;

    afterAll(async () => {
      await pythonWorker?.stop();
      await worker?.close();
      await deleteAmqpQueues(Object.values(queues));
    });

    test('the Nest worker answers GET /health 503 until it is listening, then 200', async () => {
      const env = { ...services.worker.environment, ...local, CELERY_QUEUES: `${queues.shared},${queues.nest}`, CELERY_HOSTNAME: nestNode };
      const strategy = new CeleryServer({ ...celeryOptionsFromEnv(env), worker: workerOptionsFromEnv(env) });
      worker = await NestFactory.createMicroservice(WorkerModule.register(env), { strategy, logger: false });
      const indicator = worker.get(CeleryHealthIndicator);
      const { server, port } = await startMetricsServer(0, '127.0.0.1', { health: () => healthResponse(indicator, strategy) });
      try {
        const before = await fetch(`http://127.0.0.1:${port}/health`);
        expect(before.status).toBe(503);
        expect(await before.json()).toMatchObject({ celery: { status: 'down', server: { broker: 'not listening' } } });
        await worker.listen();
        let after: { status: number; body: unknown } = { status: 0, body: undefined };
        await eventually(async () => {
          const res = await fetch(`http://127.0.0.1:${port}/health`);
          after = { status: res.status, body: await res.json() };
          return res.status === 200;
        }, 'GET /health 200');
        expect(after.body).toMatchObject({ celery: { status: 'up', server: { broker: 'connected', backend: 'connected' } } });
      } finally {
        await new Promise((r) => server.close(r));
      }
    });

    test("the compose file's Python worker and producer: every task right, on both workers", async () => {
      expect(worker).toBeDefined(); // listening since the test above
      let ready: (nodename: string) => void = () => undefined;
      const readyLine = new Promise<string>((resolve) => (ready = resolve));
      pythonWorker = runCommand(
        services['python-worker'].command!,
        pythonEnv(services['python-worker'], { CELERY_QUEUES: `${queues.shared},${queues.python}` }),
        (out) => {
          const m = /(\S+@\S+) ready\./.exec(out);
          if (m) ready(m[1]);
        },
      );
      const started = pythonWorker;
      const nodename = await Promise.race([
        readyLine,
        started.exited.then((code) => Promise.reject(new Error(`the Python worker exited (${code}):\n${started.output()}`))),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the Python worker was not ready in 90 s:\n${started.output()}`)), 90_000).unref()),
      ]);
      expect(nodename).toBe(`python@${hostname()}`);

      const producer = runCommand(
        services.producer.command!,
        pythonEnv(services.producer, {
          FLEET_NEST_QUEUE: queues.nest,
          FLEET_PYTHON_QUEUE: queues.python,
          FLEET_SHARED_QUEUE: queues.shared,
          FLEET_WORKERS: `${nestNode},${nodename}`,
          FLEET_TIMEOUT: '90',
        }),
      );
      const code = await producer.exited;
      expect({ code, output: producer.output() }).toEqual({ code: 0, output: expect.stringContaining('mixed fleet: all results right') });
      expect(producer.output()).toContain(`ping: ${JSON.stringify([nestNode, nodename].sort()).replaceAll('"', "'").replaceAll(',', ', ')} answered`);
      // the Python worker ran the tasks of its own queue (and the chain's middle step) itself
      expect(pythonWorker.output()).toMatch(/Task tasks\.mul\[[^\]]+\] succeeded/);
    }, 240_000);
  });
}
