/**
 * Private Redis and RabbitMQ instances for tests that restart, kill or reconfigure a broker, so the
 * shared ones (6379 / 5672) are never touched: own port, data dir, node name, dist port and epmd.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tcpReachable } from './services.js';
import { join } from 'node:path';
import amqp from 'amqplib';

const ROOT = process.env.TEST_PRIVATE_BROKER_DIR ?? '/tmp/nestjs-celery-private-brokers';
const RABBITMQ_BIN = process.env.TEST_RABBITMQ_BIN ?? '/usr/lib/rabbitmq/bin';
const REDIS_SERVER = process.env.TEST_REDIS_SERVER ?? 'redis-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Thrown when a private broker does not start, stop or answer in time; the message names its log. */
export class PrivateBrokerError extends Error {
  override name = 'PrivateBrokerError';
}

async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new PrivateBrokerError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

const alive = (pid: number | undefined) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const killPid = (pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL') => {
  try {
    if (pid) process.kill(pid, signal);
  } catch {
    /* already gone */
  }
};

/** Pids of processes this instance started, recorded in `<dir>/pids` so a later run can reap them. */
function reapLeftovers(dir: string): void {
  const file = join(dir, 'pids');
  if (!existsSync(file)) return;
  for (const pid of readFileSync(file, 'utf8').split(/\s+/).map(Number).filter(Boolean)) killPid(pid);
}

const live = new Set<{ destroy(): void }>();
// a Jest worker that exits without afterAll (crash, timeout) still takes its brokers down
process.once('exit', () => {
  for (const b of live) b.destroy();
});

/** Whether this machine can start private brokers (the binaries exist). */
export function privateBrokersAvailable(kind: 'redis' | 'rabbitmq'): boolean {
  if (kind === 'redis') return spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' }).status === 0;
  return existsSync(join(RABBITMQ_BIN, 'rabbitmq-server')) && existsSync(join(RABBITMQ_BIN, 'rabbitmqctl'));
}

/**
 * `describe` when private brokers of these kinds can be started; otherwise one "skipped:" line and
 * `describe.skip`, or a thrown error under CI=true (fault suites are mandatory in CI).
 */
export function describeWithPrivateBrokers(suite: string, ...kinds: ('redis' | 'rabbitmq')[]): jest.Describe {
  const missing = kinds.filter((k) => !privateBrokersAvailable(k));
  if (missing.length === 0) return describe;
  const msg = `${suite} needs ${missing.join(', ')} binaries to start private brokers (apt-get install -y redis-server rabbitmq-server)`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${msg}; CI=true makes it mandatory`);
  process.stdout.write(`skipped: ${msg}\n`);
  return describe.skip;
}

// ---------------------------------------------------------------------------------------------- Redis

export interface PrivateRedisOptions {
  /** TCP port (each helper has its own range, see BRIEF). */
  port: number;
  /** Extra redis-server arguments, e.g. ['--maxmemory', '10mb'] or TLS flags. */
  args?: string[];
  /** Keep the data directory after stop() (default: removed). */
  keepData?: boolean;
}

export interface PrivateRedis {
  readonly port: number;
  readonly dir: string;
  /** `redis://127.0.0.1:<port>/<db>`. */
  url(db?: number): string;
  /** Whether it answers on its port now. */
  up(): Promise<boolean>;
  /** Start it again (after kill/shutdown) with the same arguments and data dir; resolves when it accepts connections. */
  start(): Promise<void>;
  /** SHUTDOWN SAVE: data is written to its dump and comes back on start(). */
  shutdown(): Promise<void>;
  /** SIGKILL: no save, connections drop at once. */
  kill(): Promise<void>;
  /** shutdown(), wait `downMs`, start(). */
  restart(downMs?: number): Promise<void>;
  /** Kill it and remove its data dir. Idempotent; also runs at process exit. */
  stop(): Promise<void>;
}

export async function startPrivateRedis(options: PrivateRedisOptions): Promise<PrivateRedis> {
  const { port } = options;
  const dir = join(ROOT, `redis-${port}`);
  reapLeftovers(dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;
  const pids = new Set<number>();
  const up = () => tcpReachable('127.0.0.1', port);

  const self: PrivateRedis & { destroy(): void } = {
    port,
    dir,
    url: (db = 0) => `redis://127.0.0.1:${port}/${db}`,
    up,
    async start() {
      if (await up()) throw new PrivateBrokerError(`port ${port} is already in use; a private Redis needs a free port (see ${dir})`);
      child = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
      pids.add(child.pid!);
      writeFileSync(join(dir, 'pids'), [...pids].join('\n'));
      await waitFor(up, `private Redis on port ${port} to start (log: ${dir}/redis.log)`, 60_000);
    },
    async shutdown() {
      const c = child;
      spawnSync('redis-cli', ['-p', String(port), 'shutdown', 'save'], { stdio: 'ignore' });
      await waitFor(async () => !alive(c?.pid) && !(await up()), `private Redis on port ${port} to shut down`, 60_000);
    },
    async kill() {
      const c = child;
      killPid(c?.pid);
      await waitFor(async () => !alive(c?.pid) && !(await up()), `private Redis on port ${port} to die`, 30_000);
    },
    async restart(downMs = 1000) {
      await self.shutdown();
      await sleep(downMs);
      await self.start();
    },
    destroy() {
      for (const pid of pids) killPid(pid);
      if (!options.keepData) rmSync(dir, { recursive: true, force: true });
      live.delete(self);
    },
    async stop() {
      const c = child;
      self.destroy();
      await waitFor(() => !alive(c?.pid), `private Redis on port ${port} to stop`, 30_000);
    },
  };
  live.add(self);
  try {
    await self.start();
  } catch (e) {
    self.destroy();
    throw e;
  }
  return self;
}

// ------------------------------------------------------------------------------------------- RabbitMQ

export interface PrivateRabbitMqOptions {
  /** AMQP port; the dist port is port + 20000 and epmd listens on port + 21000 unless given. */
  port: number;
  distPort?: number;
  epmdPort?: number;
  /** Node name (default `faults<port>@localhost`). */
  nodeName?: string;
  /** Extra rabbitmq.conf lines, e.g. ['consumer_timeout = 5000']. */
  conf?: string[];
  /** advanced.config contents (Erlang terms), e.g. `[{rabbit, [{channel_tick_interval, 500}]}].` */
  advanced?: string;
  /** Plugins to enable (default none). */
  plugins?: string[];
  /** Extra environment for the node. */
  env?: Record<string, string>;
  keepData?: boolean;
}

export interface PrivateRabbitMq {
  readonly port: number;
  readonly nodeName: string;
  readonly dir: string;
  /** `amqp://guest:guest@127.0.0.1:<port>//`. */
  readonly url: string;
  /** Run rabbitmqctl against this node; resolves with its stdout, rejects on a non-zero exit. */
  ctl(...args: string[]): Promise<string>;
  /** Whether an AMQP client can connect now. */
  up(): Promise<boolean>;
  /** Stop the rabbit app (connections drop; durable queues and persistent messages survive). */
  stopApp(): Promise<void>;
  /** Start the rabbit app again; resolves when it accepts AMQP connections. */
  startApp(): Promise<void>;
  /** stopApp(), wait `downMs`, startApp(). */
  restart(downMs?: number): Promise<void>;
  /** SIGKILL the Erlang node (no clean shutdown). */
  kill(): Promise<void>;
  /** Start the node again (after kill) with the same data; resolves when it accepts AMQP connections. */
  start(): Promise<void>;
  /** Close every client connection (the broker side of a connection loss), with `reason`. */
  closeConnections(reason?: string): Promise<void>;
  /** Kill the node and its epmd, remove the data dir. Idempotent; also runs at process exit. */
  stop(): Promise<void>;
}

export async function startPrivateRabbitMq(options: PrivateRabbitMqOptions): Promise<PrivateRabbitMq> {
  const { port } = options;
  const distPort = options.distPort ?? port + 20000;
  const epmdPort = options.epmdPort ?? port + 21000;
  const nodeName = options.nodeName ?? `faults${port}@localhost`;
  const dir = join(ROOT, `rabbitmq-${port}`);
  reapLeftovers(dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'mnesia'), { recursive: true });
  mkdirSync(join(dir, 'log'), { recursive: true });
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [`listeners.tcp.default = 127.0.0.1:${port}`, 'loopback_users = none', 'log.console = false', ...(options.conf ?? [])].join('\n') + '\n',
  );
  writeFileSync(join(dir, 'enabled_plugins'), `[${(options.plugins ?? []).join(',')}].\n`);
  writeFileSync(join(dir, 'advanced.config'), options.advanced ?? '[].\n');
  writeFileSync(join(dir, 'rabbitmq-env.conf'), ''); // not /etc/rabbitmq/rabbitmq-env.conf (the shared node's)
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir, // its own Erlang cookie
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_FLAGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    ...options.env,
  };
  const url = `amqp://guest:guest@127.0.0.1:${port}//`;
  const pids = new Set<number>();
  const recordPids = () => writeFileSync(join(dir, 'pids'), [...pids].join('\n'));
  const beamPid = () => {
    const file = join(dir, 'rabbitmq.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) || undefined : undefined;
  };
  const epmdPid = () => {
    const out = spawnSync('ss', ['-Hltnp', `sport = :${epmdPort}`], { encoding: 'utf8' }).stdout ?? '';
    const m = /epmd",pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  };
  let child: ChildProcess | undefined;

  const ctl = (...args: string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile(join(RABBITMQ_BIN, 'rabbitmqctl'), ['-n', nodeName, ...args], { env, cwd: dir, timeout: 120_000 }, (err, stdout, stderr) =>
        err ? reject(new PrivateBrokerError(`rabbitmqctl ${args.join(' ')} on ${nodeName} failed: ${stderr || err.message}`)) : resolve(stdout),
      );
    });
  const up = async () => {
    if (!(await tcpReachable('127.0.0.1', port))) return false;
    try {
      const conn = await amqp.connect(url);
      await conn.close();
      return true;
    } catch {
      return false;
    }
  };
  const awaitUp = (what: string) => waitFor(up, `private RabbitMQ ${nodeName} to ${what} (logs: ${dir}/log)`, 120_000);

  const self: PrivateRabbitMq & { destroy(): void } = {
    port,
    nodeName,
    dir,
    url,
    ctl,
    up,
    async start() {
      if (await tcpReachable('127.0.0.1', port))
        throw new PrivateBrokerError(`port ${port} is already in use; a private RabbitMQ needs a free port (see ${dir})`);
      child = spawn(join(RABBITMQ_BIN, 'rabbitmq-server'), [], { env, cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
      pids.add(child.pid!);
      recordPids();
      const started = child;
      await waitFor(async () => Boolean(beamPid()) || started.exitCode !== null, `private RabbitMQ ${nodeName} to write its pid`, 60_000);
      if (started.exitCode !== null) throw new PrivateBrokerError(`private RabbitMQ ${nodeName} exited with ${started.exitCode}; see ${dir}/log`);
      pids.add(beamPid()!);
      const epmd = epmdPid();
      if (epmd) pids.add(epmd);
      recordPids();
      await awaitUp('start');
    },
    async stopApp() {
      await ctl('stop_app');
    },
    async startApp() {
      await ctl('start_app');
      await awaitUp('start its app');
    },
    async restart(downMs = 1000) {
      await self.stopApp();
      await sleep(downMs);
      await self.startApp();
    },
    async kill() {
      const pid = beamPid();
      killPid(pid);
      await waitFor(async () => !alive(pid) && !(await tcpReachable('127.0.0.1', port)), `private RabbitMQ ${nodeName} to die`, 30_000);
      rmSync(join(dir, 'rabbitmq.pid'), { force: true });
    },
    async closeConnections(reason = 'closed by test') {
      await ctl('close_all_connections', reason);
    },
    destroy() {
      const epmd = epmdPid();
      if (epmd) pids.add(epmd);
      const beam = beamPid();
      if (beam) pids.add(beam);
      for (const pid of pids) killPid(pid);
      if (!options.keepData) rmSync(dir, { recursive: true, force: true });
      live.delete(self);
    },
    async stop() {
      const all = [...pids, beamPid()];
      self.destroy();
      await waitFor(() => all.every((p) => !alive(p)), `private RabbitMQ ${nodeName} to stop`, 30_000);
    },
  };
  live.add(self);
  try {
    await self.start();
  } catch (e) {
    self.destroy();
    throw e;
  }
  return self;
}
