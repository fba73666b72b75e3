/**
 * A three-node RabbitMQ 4.x cluster on this machine for the cluster fault suite: nodes with their own
 * names, ports and data dirs in the debootstrapped root of scripts/interop/rabbitmq4.sh, one shared
 * Erlang cookie and epmd, joined with join_cluster; a node can be SIGKILLed and started again.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PEERS_CACHE } from './peers.js';
import { tcpReachable } from './services.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'interop', 'rabbitmq4.sh');
const ROOT = process.env.RABBITMQ4_ROOT ?? join(PEERS_CACHE, 'rabbitmq4-root');

/** Whether this machine can start the cluster: the RabbitMQ 4.x root is built and we may chroot into it. */
export function rabbitMqClusterAvailable(): boolean {
  return existsSync(join(ROOT, '.complete')) && process.getuid?.() === 0;
}

/**
 * `describe` when the cluster can start; otherwise one "skipped:" line and `describe.skip`, or a
 * thrown error under CI=true (the cluster suite is mandatory in CI, whose .ci/run builds the root).
 */
export function describeWithRabbitMqCluster(suite: string): jest.Describe {
  if (rabbitMqClusterAvailable()) return describe;
  const msg = `${suite} needs the RabbitMQ 4.x root and root privileges; start it with scripts/interop/rabbitmq4.sh build (as root)`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${msg}; CI=true makes it mandatory`);
  process.stdout.write(`skipped: ${msg}\n`);
  return describe.skip;
}

export interface ClusterNode {
  readonly port: number;
  readonly name: string;
  /** `amqp://guest:guest@127.0.0.1:<port>//` */
  readonly url: string;
  /** rabbitmqctl against this node; resolves with its stdout */
  ctl(...args: string[]): Promise<string>;
  /** SIGKILL the node's Erlang VM: no clean shutdown, its connections drop at once */
  kill(): Promise<void>;
  /** start it again on its data (it rejoins the cluster); resolves when it accepts AMQP */
  start(): Promise<void>;
  up(): Promise<boolean>;
}

export interface RabbitMqCluster {
  readonly nodes: ClusterNode[];
  /** the nodes' URLs as one `;`-separated failover list, starting at node `first` */
  failoverUrl(first?: number): string;
  /** stop every node and the shared epmd, remove their data */
  stop(): Promise<void>;
}

export interface RabbitMqClusterOptions {
  /** one AMQP port per node; dist port = port + 20000 */
  ports: number[];
  /** the epmd all nodes register with */
  epmdPort: number;
}

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(SCRIPT, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`rabbitmq4.sh ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Start the nodes (in parallel), join every one to the first, and wait until all run. */
export async function startRabbitMqCluster(options: RabbitMqClusterOptions): Promise<RabbitMqCluster> {
  const cookie = `nestjs-celery-cluster-${options.ports[0]}`;
  const internal = options.ports.map((port): ClusterNode & { reset(): void; stopNode(): Promise<void> } => {
    const name = `cluster-${port}@localhost`;
    const base = join(ROOT, 'var', 'lib', `rabbit4-${port}`);
    const env = {
      RABBITMQ4_PORT: String(port),
      RABBITMQ4_NODENAME: name,
      RABBITMQ4_EPMD_PORT: String(options.epmdPort),
      RABBITMQ4_COOKIE: cookie,
      // quorum queues need no deprecated feature; one boot instead of the deny-list probe
      RABBITMQ4_PERMIT_ALL: '1',
    };
    const pid = () => (existsSync(join(base, 'rabbit.pid')) ? Number(readFileSync(join(base, 'rabbit.pid'), 'utf8').trim()) : 0);
    const up = () => tcpReachable('127.0.0.1', port);
    return {
      port,
      name,
      url: `amqp://guest:guest@127.0.0.1:${port}//`,
      up,
      ctl: (...args: string[]) => run(['ctl', ...args], env, 120_000),
      async kill() {
        const p = pid();
        if (p && alive(p)) process.kill(p, 'SIGKILL');
        const deadline = Date.now() + 30_000;
        while ((p && alive(p)) || (await up())) {
          if (Date.now() > deadline) throw new Error(`node ${name} did not die within 30 s`);
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      start: () => run(['start'], env, 240_000).then(() => undefined),
      // internal: fresh data before the first start
      reset() {
        const p = pid();
        if (p && alive(p)) process.kill(p, 'SIGKILL');
        rmSync(base, { recursive: true, force: true });
      },
      stopNode: () => run(['stop'], env, 120_000).then(() => undefined),
    };
  });
  const nodes: ClusterNode[] = internal;
  const cluster: RabbitMqCluster = {
    nodes,
    failoverUrl: (first = 0) => nodes.map((_, i) => nodes[(first + i) % nodes.length].url).join(';'),
    async stop() {
      for (const node of internal) {
        await node.stopNode().catch(() => undefined);
        node.reset();
      }
    },
  };
  try {
    for (const node of internal) node.reset();
    await Promise.all(nodes.map((n) => n.start()));
    for (const node of nodes.slice(1)) {
      await node.ctl('stop_app');
      await node.ctl('join_cluster', nodes[0].name);
      await node.ctl('start_app');
    }
    const status = await nodes[0].ctl('cluster_status', '--formatter', 'json');
    const running = (JSON.parse(status) as { running_nodes: string[] }).running_nodes;
    if (running.length !== nodes.length) throw new Error(`the cluster runs ${running.join(', ')}, not all ${nodes.length} nodes`);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
