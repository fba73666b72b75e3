/**
 * Fuzz: remote-control requests as a worker's mailbox receives them (kombu pidbox messages):
 * generated requests for every command with generated arguments, destinations and patterns,
 * their bodies mutated and compressed. Defined outcome: the node answers (a JSON-encodable reply
 * or none) or logs and drops the message; it never throws, and never stalls the loop.
 */
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import type { CeleryLogger } from '../../libs/nestjs-celery/src/common/logger.js';
import { dumps } from '../../libs/nestjs-celery/src/protocol/json.js';
import type { Broker, DeliveryHandler, TransportMessage } from '../../libs/nestjs-celery/src/transport/broker.interface.js';
import { controlCommands, type CommandContext } from '../../libs/nestjs-celery/src/engine/control/control-commands.js';
import { readControlRequest } from '../../libs/nestjs-celery/src/engine/control/mailbox.js';
import { PidboxNode } from '../../libs/nestjs-celery/src/engine/control/pidbox-node.js';
import type { EventDispatcher } from '../../libs/nestjs-celery/src/engine/events/event-dispatcher.js';
import { LamportClock } from '../../libs/nestjs-celery/src/engine/events/lamport-clock.js';
import { WorkerState } from '../../libs/nestjs-celery/src/engine/worker/worker-state.js';
import { STALLING_GLOB } from './bombs.js';
import { FC_OPTIONS, FUZZ_TIMEOUT_MS, heapGrowth, mutated, wireValue } from './support.js';

const HOSTNAME = 'nestjs@fuzz-host';

function node() {
  const lines: string[] = [];
  const logger: CeleryLogger = { log: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  const replies: TransportMessage[] = [];
  let handler: DeliveryHandler | undefined;
  const declared = new Set<string>();
  const broker = {
    kind: 'memory',
    declareExchange: async (x: { name: string }) => void declared.add(x.name),
    declareQueue: async () => undefined,
    consume: async (_q: string[], _o: unknown, h: DeliveryHandler) => ((handler = h), { cancel: async () => undefined }),
    publish: async (message: TransportMessage) => void replies.push(message),
  } as unknown as Broker;
  const state = new WorkerState(HOSTNAME);
  const clock = new LamportClock();
  const ctx: CommandContext = {
    hostname: HOSTNAME,
    state,
    clock,
    dispatcher: { groups: new Set(['worker']) } as unknown as EventDispatcher,
    taskNames: () => ['tasks.add', 'celery.chord_unlock'],
    taskOption: () => undefined,
    setRateLimit: () => false,
    queues: () => [{ name: 'celery' }],
    concurrency: 4,
    prefetchCount: () => 4,
    setTimeLimits: (name) => name === 'tasks.add',
    addConsumer: () => undefined,
    cancelConsumer: () => undefined,
    shutdown: () => undefined,
    pool: { info: () => ({ 'max-concurrency': 4 }), prefetchCount: () => 4, grow: () => undefined, shrink: () => undefined },
    brokerInfo: () => ({ transport: 'memory' }),
    conf: () => ({ broker_url: 'memory://' }),
    revoke: (ids) => {
      for (const id of ids) state.revoked.add(id);
      return [];
    },
    revokeByStamps: () => new Map(),
  };
  const pidbox = new PidboxNode({ broker, clock, publishDirect: (_what, message, route) => broker.publish(message, route) }, controlCommands(ctx), {
    hostname: HOSTNAME,
    logger,
    maxMessageBytes: 256 * 1024,
    maxReplyExchanges: 4,
  });
  const deliver = (message: TransportMessage) =>
    handler!({
      message,
      deliveryInfo: { exchange: 'celery.pidbox', routingKey: '', queue: pidbox.queueName, redelivered: false },
      ack: async () => undefined,
      reject: async () => undefined,
    });
  return { pidbox, lines, replies, declared, deliver, state };
}

const METHODS = [
  'ping',
  'clock',
  'report',
  'heartbeat',
  'enable_events',
  'disable_events',
  'revoke',
  'terminate',
  'hello',
  'stats',
  'registered',
  'active',
  'reserved',
  'scheduled',
  'revoked',
  'active_queues',
  'query_task',
  'conf',
  'shutdown',
  'time_limit',
  'add_consumer',
  'cancel_consumer',
  'pool_restart',
  'pool_grow',
  '__proto__',
  'constructor',
  'toString',
];
const globChars = fc.string({ unit: fc.constantFrom('*', '?', '[', ']', '!', '^', '-', 'n', 'e', 's', '@', 'f', 'X', '\\'), maxLength: 40 });
const pcreChars = fc.string({ unit: fc.constantFrom('(', ')', '*', '+', '?', '{', '1', '}', '|', '.', 'a', '\\', '[', ']', '^', '$', 'n'), maxLength: 30 });
const revokedMapping = fc.dictionary(fc.uuid(), fc.oneof(fc.tuple(fc.double(), fc.uuid()), fc.double(), wireValue), { maxKeys: 50 });
const args = fc.record(
  {
    task_id: fc.oneof(fc.uuid(), fc.array(fc.oneof(fc.uuid(), wireValue), { maxLength: 20 }), wireValue),
    terminate: fc.oneof(fc.boolean(), wireValue),
    signal: fc.oneof(fc.constantFrom('SIGTERM', 'SIGKILL', 'TERM', 9, 15), wireValue),
    revoked: fc.oneof(revokedMapping, wireValue),
    from_node: fc.oneof(fc.constant(HOSTNAME), fc.string({ maxLength: 20 })),
    taskinfoitems: fc.oneof(fc.array(fc.string({ maxLength: 10 }), { maxLength: 5 }), wireValue),
    builtins: wireValue,
    safe: wireValue,
    ids: fc.oneof(fc.array(fc.uuid(), { maxLength: 5 }), wireValue),
    task_name: fc.oneof(fc.constant('tasks.add'), wireValue),
    soft: fc.oneof(fc.double(), wireValue),
    hard: fc.oneof(fc.double(), wireValue),
    queue: fc.oneof(fc.string({ maxLength: 300 }), wireValue),
    with_defaults: wireValue,
  },
  { requiredKeys: [] },
);
const request = fc.record(
  {
    method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ maxLength: 20 }), wireValue),
    arguments: fc.oneof(args, wireValue),
    destination: fc.oneof(fc.constant(null), fc.array(fc.oneof(fc.constant(HOSTNAME), fc.string({ maxLength: 20 }), wireValue), { maxLength: 4 })),
    pattern: fc.oneof(fc.constant(null), globChars, pcreChars, fc.constant(STALLING_GLOB)),
    matcher: fc.oneof(fc.constant(null), fc.constantFrom('glob', 'pcre', 'regex'), wireValue),
    ticket: fc.oneof(fc.uuid(), wireValue),
    reply_to: fc.oneof(fc.record({ exchange: fc.oneof(fc.constant('reply.celery.pidbox'), fc.string({ maxLength: 10 })), routing_key: fc.uuid() }), wireValue),
  },
  { requiredKeys: ['method'] },
);

describe('fuzz: remote-control requests', () => {
  test(
    'generated requests, handled directly: they resolve to a JSON-encodable reply or none',
    async () => {
      const n = node();
      const growth = await heapGrowth(() =>
        fc.assert(
          fc.asyncProperty(request, async (body) => {
            const parsed = readControlRequest(body);
            if (!parsed) return;
            const reply = await n.pidbox.handle(parsed);
            if (reply !== undefined) expect(() => dumps(reply)).not.toThrow();
          }),
          FC_OPTIONS,
        ),
      );
      expect(growth).toBeLessThan(256 * 1024 * 1024);
      // a request naming yet another reply exchange gets no reply rather than a declaration
      expect(n.declared.size).toBeLessThanOrEqual(1 + 4);
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'their bodies mutated (and sometimes compressed), delivered to the mailbox: the node keeps answering',
    async () => {
      const n = node();
      await n.pidbox.start();
      const bodies = fc.tuple(mutated(request.map((r) => Buffer.from(dumps(r)))), fc.constantFrom(undefined, 'zlib', 'brotli', 'bogus'));
      await fc.assert(
        fc.asyncProperty(bodies, async ([body, compression]) => {
          const packed = compression === 'zlib' ? zlib.deflateSync(body) : compression === 'brotli' ? zlib.brotliCompressSync(body) : body;
          n.deliver({
            body: packed,
            contentType: 'application/json',
            contentEncoding: 'utf-8',
            headers: compression ? { compression, clock: 1 } : { clock: 'x' },
            properties: {},
          });
        }),
        FC_OPTIONS,
      );
      await n.pidbox.stop(); // waits for every request in flight
      const before = n.replies.length;
      await n.pidbox.handle({
        method: 'ping',
        arguments: {},
        destination: [HOSTNAME],
        pattern: null,
        matcher: null,
        ticket: 't',
        reply_to: { exchange: 'reply.celery.pidbox', routing_key: 'r' },
      });
      expect(n.replies.length).toBe(before + 1);
      expect(Math.max(0, ...n.lines.map((l) => l.length))).toBeLessThan(64 * 1024);
    },
    FUZZ_TIMEOUT_MS,
  );
});
