/** Shared helpers for the RabbitMQ broker suites: admin channel, inbox, Python side, rabbitmqctl. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import type { Delivery, TransportMessage } from '../../libs/nestjs-celery/src/transport/broker.interface.js';
import { pythonPathFor, type CeleryVersion } from '../support/peers.js';
import { AMQP_URL, PYTHON } from '../support/services.js';

const run = promisify(execFile);
const INTEROP = fileURLToPath(new URL('./amqp-interop.py', import.meta.url));

/** Run a command of amqp-interop.py with a Celery peer's Celery/kombu/py-amqp; returns its JSON output. */
export function pythonOf(version: CeleryVersion) {
  return async <T = unknown>(command: string, ...args: string[]): Promise<T> => {
    try {
      const { stdout } = await run(PYTHON, [INTEROP, command, AMQP_URL, ...args], {
        timeout: 30_000,
        env: { ...process.env, PYTHONPATH: pythonPathFor(version) },
      });
      return JSON.parse(stdout) as T;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`amqp-interop.py ${command} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-1)[0]}`);
    }
  };
}

/** A plain amqplib channel for inspecting and cleaning up queues behind the broker's back. */
export class Admin {
  private constructor(
    private readonly model: ChannelModel,
    private channel: Channel,
  ) {}

  static async open(): Promise<Admin> {
    const model = await connect(AMQP_URL);
    model.on('error', () => undefined);
    return new Admin(model, await Admin.channelOf(model));
  }

  private static async channelOf(model: ChannelModel): Promise<Channel> {
    const ch = await model.createChannel();
    ch.on('error', () => undefined);
    return ch;
  }

  /** A fresh channel when a failed check closed the previous one. */
  private async use<T>(op: (ch: Channel) => Promise<T>): Promise<T> {
    try {
      return await op(this.channel);
    } catch (err) {
      this.channel = await Admin.channelOf(this.model);
      throw err;
    }
  }

  async messageCount(queue: string): Promise<number> {
    return (await this.use((ch) => ch.checkQueue(queue))).messageCount;
  }

  async queueExists(queue: string): Promise<boolean> {
    return this.use((ch) => ch.checkQueue(queue)).then(
      () => true,
      () => false,
    );
  }

  async deleteQueues(...queues: string[]): Promise<void> {
    for (const q of queues) await this.use((ch) => ch.deleteQueue(q)).catch(() => undefined);
  }

  async deleteExchanges(...exchanges: string[]): Promise<void> {
    for (const e of exchanges) await this.use((ch) => ch.deleteExchange(e)).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => undefined);
  }
}

/** Deliveries in arrival order, awaited one by one. */
export class Inbox {
  readonly received: Delivery[] = [];
  private readonly waiting: { n: number; resolve: () => void }[] = [];

  readonly push = (d: Delivery): void => {
    this.received.push(d);
    for (const w of this.waiting.filter((w) => this.received.length >= w.n)) w.resolve();
  };

  /** Resolves once `n` deliveries arrived in total; rejects after `timeoutMs`. */
  async count(n: number, timeoutMs = 30_000): Promise<Delivery[]> {
    if (this.received.length < n) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${n} deliveries within ${timeoutMs} ms, got ${this.received.length}`)), timeoutMs);
        this.waiting.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    }
    return this.received.slice(0, n);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function message(overrides: Partial<TransportMessage> = {}): TransportMessage {
  return {
    body: Buffer.from('[[2, 2], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: {},
    properties: { deliveryMode: 2 },
    ...overrides,
  };
}

/** Close our connection from the server side, as a broker restart or a network cut would. */
export async function closeConnectionNamed(connectionName: string): Promise<void> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q', '--no-table-headers']);
  const line = stdout.split('\n').find((l) => l.includes(`{"connection_name","${connectionName}"}`));
  if (!line) throw new Error(`no RabbitMQ connection named ${connectionName}`);
  await run('rabbitmqctl', ['close_connection', line.split('\t')[0], 'test: closed from the server side']);
}
