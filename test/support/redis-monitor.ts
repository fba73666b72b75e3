/**
 * Redis MONITOR on a raw socket, for tests that assert the commands a driver sends. ioredis's own
 * `monitor()` switches into monitor mode only after MONITOR's +OK is handled, so on a busy shared
 * Redis a monitored line that arrives in the same read is taken for a reply ("Command queue state error").
 */
import { connect, type Socket } from 'node:net';

export interface RedisMonitor {
  /** calls `listener` with each monitored command's arguments, the command name first */
  onCommand(listener: (args: string[]) => void): void;
  close(): void;
}

/** One monitored line's arguments: `+<time> [<db> <client>] "CMD" "arg" …`, each quoted as Redis's sdscatrepr does. */
export function parseMonitorLine(line: string): string[] {
  const args: string[] = [];
  let i = line.indexOf('"');
  while (i >= 0 && i < line.length) {
    let arg = '';
    for (i++; i < line.length && line[i] !== '"'; i++) {
      if (line[i] !== '\\') {
        arg += line[i];
        continue;
      }
      const c = line[++i];
      if (c === 'x') {
        arg += String.fromCharCode(parseInt(line.slice(i + 1, i + 3), 16));
        i += 2;
      } else arg += ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[c] ?? c;
    }
    args.push(arg);
    i = line.indexOf('"', i + 1);
  }
  return args;
}

/** Starts MONITOR on `url`'s host and port; resolves once Redis answered +OK, so every later command is seen. */
export async function redisMonitor(url: string): Promise<RedisMonitor> {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
  const listeners: ((args: string[]) => void)[] = [];
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (line === '+OK') resolve();
        else if (line.startsWith('-')) reject(new Error(`MONITOR refused: ${line}`));
        else if (line.startsWith('+')) for (const listener of listeners) listener(parseMonitorLine(line));
      }
    });
    socket.write('MONITOR\r\n');
  });
  return {
    onCommand: (listener) => listeners.push(listener),
    close: () => socket.destroy(),
  };
}
