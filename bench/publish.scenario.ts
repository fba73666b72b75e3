/**
 * Client publish rate, N sends to a queue nobody consumes, Redis result backend:
 *  - ours: sendTask with `inflight` sends outstanding; each resolves after its result
 *    subscription and, with confirms, the broker's publisher confirm (else once written)
 *  - Python: `add.delay()` in a loop (subscribes to the result channel; LPUSH reply on Redis)
 * On RabbitMQ each client runs twice, like for like: without publisher confirms (Celery's
 * default, confirm_publish off; ours with confirmPublish: false) and with them (our default;
 * Python with broker_transport_options confirm_publish=True). Redis has no such switch.
 */
import { config, benchQueue, type BrokerKind } from './config.js';
import type { BenchContext } from './context.js';
import { NodeChild, runPythonScript } from './processes.js';
import { errorText } from './stats.js';

export interface PublishFigure {
  broker: BrokerKind;
  /** 'ceiling': raw publishing with no Celery logic (ceiling.ts) */
  client: 'ours' | 'python' | 'ceiling';
  /** RabbitMQ publisher confirms awaited (always true on Redis, whose LPUSH reply is one) */
  confirms: boolean;
  n: number;
  rate?: number;
  seconds?: number;
  error?: string;
}

export async function publish(ctx: BenchContext, kind: BrokerKind, client: 'ours' | 'python', confirms: boolean): Promise<PublishFigure> {
  const n = config.n;
  const figure: PublishFigure = { broker: kind, client, confirms, n };
  const queue = benchQueue(`publish-${client}-${kind}`);
  try {
    ctx.progress(`publish ${client} on ${kind}${kind === 'amqp' ? (confirms ? ' with confirms' : ' without confirms') : ''}: ${n} sends to ${queue}`);
    let seconds: number;
    if (client === 'python') {
      ({ seconds } = await runPythonScript<{ seconds: number }>(
        'bench_publish.py',
        { broker: config.brokers[kind], backend: config.backend, queue, confirmPublish: confirms },
        [String(n)],
      ));
    } else {
      const child = new NodeChild(
        `our client publishing on ${kind}`,
        'our-client.js',
        {
          mode: 'publish',
          broker: config.brokers[kind],
          backend: config.backend,
          queue,
          task: config.task,
          n,
          inflight: config.inflight,
          confirmPublish: confirms,
        },
        { profileName: `client-publish-${kind}${confirms ? '' : '-noconfirm'}` },
      );
      try {
        seconds = (await child.next('result', 600_000)).seconds as number;
      } finally {
        await child.stop();
      }
    }
    figure.seconds = seconds;
    figure.rate = n / seconds;
    // + 1: the warm-up send before timing. Unconfirmed publishes may still be on their way
    // into the queue when the client is done: give RabbitMQ a few seconds to take them all.
    let depth = await ctx.admin.depth(kind, queue);
    for (let waited = 0; depth < n + 1 && waited < 10_000; waited += 200) {
      await new Promise((r) => setTimeout(r, 200));
      depth = await ctx.admin.depth(kind, queue);
    }
    if (depth !== n + 1) throw new Error(`sent ${n + 1} tasks but queue ${queue} holds ${depth}`);
  } catch (error) {
    figure.error = errorText(error);
    ctx.progress(`publish ${client} on ${kind} failed: ${figure.error}`);
  } finally {
    await ctx.admin.deleteQueue(kind, queue).catch(() => undefined);
  }
  return figure;
}
