/**
 * A Redis Sentinel group on local ports for the Sentinel fault suite: one master and one replica
 * (private redis-servers) watched by three sentinels (`redis-server <conf> --sentinel`) that fail the
 * master over to the replica a second after it stops answering.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from './private-broker.js';
import { tcpReachable } from './services.js';
import { eventually } from './eventually.js';

const DIR = process.env.TEST_PRIVATE_BROKER_DIR ?? '/tmp/nestjs-celery-private-brokers';

export interface RedisSentinelGroup {
  readonly masterName: string;
  readonly master: PrivateRedis;
  readonly replica: PrivateRedis;
  readonly sentinelPorts: number[];
  /** `sentinel://127.0.0.1:p1/db;sentinel://127.0.0.1:p2/db;…`, kombu's and Celery's form */
  url(db?: number): string;
  /** the port of the master the sentinels name now */
  masterPort(): Promise<number>;
  /** until the replica has every write the master took (WAIT), so a failover loses none of them */
  synced(): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisSentinelOptions {
  masterPort: number;
  replicaPort: number;
  sentinelPorts: number[];
  masterName?: string;
}

export async function startRedisSentinelGroup(options: RedisSentinelOptions): Promise<RedisSentinelGroup> {
  const masterName = options.masterName ?? 'mymaster';
  const master = await startPrivateRedis({ port: options.masterPort });
  const replica = await startPrivateRedis({ port: options.replicaPort, args: ['--replicaof', '127.0.0.1', String(options.masterPort)] });
  const sentinels: ChildProcess[] = [];
  const stop = async () => {
    for (const s of sentinels) s.kill('SIGKILL');
    await Promise.all([master.stop(), replica.stop()]);
    for (const port of options.sentinelPorts) rmSync(join(DIR, `sentinel-${port}`), { recursive: true, force: true });
  };
  try {
    for (const port of options.sentinelPorts) {
      const dir = join(DIR, `sentinel-${port}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      // sentinels rewrite their config file: each has its own
      const conf = join(dir, 'sentinel.conf');
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `logfile ${join(dir, 'sentinel.log')}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${options.masterPort} 2`,
          `sentinel down-after-milliseconds ${masterName} 1000`,
          `sentinel failover-timeout ${masterName} 10000`,
          `sentinel parallel-syncs ${masterName} 1`,
        ].join('\n') + '\n',
      );
      sentinels.push(spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }));
    }
    for (const port of options.sentinelPorts) await eventually(() => tcpReachable('127.0.0.1', port), `sentinel on ${port}`, 60_000, 100);
    const probe = new Redis({ port: options.masterPort, lazyConnect: true });
    await probe.connect();
    // the replica has synced and every sentinel knows the replica and the other sentinels
    await eventually(async () => /connected_slaves:1/.test(await probe.info('replication')), 'the replica to sync', 60_000, 100);
    probe.disconnect();
    for (const port of options.sentinelPorts) {
      const s = new Redis({ port, lazyConnect: true });
      await s.connect();
      await eventually(
        async () => {
          const info = (await s.call('SENTINEL', 'MASTER', masterName)) as string[];
          const field = (k: string) => Number(info[info.indexOf(k) + 1]);
          return field('num-slaves') === 1 && field('num-other-sentinels') === options.sentinelPorts.length - 1;
        },
        `sentinel ${port} to see the replica and the other sentinels`,
        60_000,
        200,
      );
      s.disconnect();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    masterName,
    master,
    replica,
    sentinelPorts: options.sentinelPorts,
    url: (db = 0) => options.sentinelPorts.map((p) => `sentinel://127.0.0.1:${p}/${db}`).join(';'),
    async masterPort() {
      const s = new Redis({ port: options.sentinelPorts[0] });
      try {
        const [, port] = (await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as string[];
        return Number(port);
      } finally {
        s.disconnect();
      }
    },
    async synced() {
      const m = new Redis({ port: options.masterPort });
      try {
        await m.call('WAIT', '1', '10000');
      } finally {
        m.disconnect();
      }
    },
    stop,
  };
}
