/**
 * A TCP proxy a test controls, between a client (worker) and a server (broker): forwards bytes
 * both ways until the test cuts the network (connections reset, new ones refused) or partitions
 * it silently (connections stay open, no byte gets through, as when a cable is pulled).
 */
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export type ProxyState = 'open' | 'cut' | 'partitioned';

export class TcpProxy {
  private server?: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  private state: ProxyState = 'open';
  /** connections accepted since start (a reconnect shows up here) */
  accepted = 0;
  /** the port it listens on: `listenPort`, or the one the system chose for 0 (after start()) */
  port: number;

  /** `listenPort` 0: any free port, so suites sharing a machine never collide */
  constructor(
    listenPort: number,
    readonly targetPort: number,
    readonly host = '127.0.0.1',
  ) {
    this.port = listenPort;
  }

  get url(): string {
    return `${this.host}:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, this.host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Reset every connection and refuse new ones until restore(). */
  cut(): void {
    this.state = 'cut';
    for (const [a, b] of this.pairs) {
      reset(a);
      reset(b);
    }
    this.pairs.clear();
  }

  /** Keep connections open but let nothing through (a silent partition) until restore(). */
  partition(): void {
    this.state = 'partitioned';
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    }
  }

  /** Let traffic through again; connections of a partition resume, the peers decide whether they are still alive. */
  restore(): void {
    this.state = 'open';
    for (const [a, b] of this.pairs) {
      a.pipe(b);
      b.pipe(a);
    }
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  private accept(client: Socket): void {
    if (this.state === 'cut') {
      client.resetAndDestroy();
      return;
    }
    this.accepted++;
    const upstream = createConnection({ host: this.host, port: this.targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    // while partitioned, paused sockets read nothing: bytes wait in the kernel as on a dead link
    if (this.state === 'partitioned') {
      client.pause();
      upstream.pause();
    } else {
      client.pipe(upstream);
      upstream.pipe(client);
    }
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }
}

/**
 * Reset a connection (RST). A socket still connecting, or whose writing side already ended (its
 * peer closed and the pipe ended it), cannot be reset: libuv refuses and Node then never closes
 * its handle, which keeps the test process alive. Those are destroyed instead.
 */
function reset(socket: Socket): void {
  if (socket.connecting || socket.writableEnded || socket.destroyed) socket.destroy();
  else socket.resetAndDestroy();
}
