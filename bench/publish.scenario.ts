/**
 * Client publish rate, N sends to a queue nobody consumes, Redis result backend:
 *  - ours: sendTask with `inflight` sends outstanding; each resolves after its result
 *    subscription and the broker's publisher confirm
 *  - Python: `add.delay()` in a loop (Celery's defaults: subscribes to the result channel, no
 *    publisher confirms on AMQP; LPUSH reply on Redis)
 */
import { config, benchQueue, type BrokerKind } from './config.js';
import type { BenchContext } from './context.js';
import { NodeChild, runPythonScript } from './processes.js';
import { errorText } from './stats.js';

export interface PublishFigure {
  broker: BrokerKind;
  client: 'ours' | 'python';
  n: number;
  rate?: number;
  seconds?: number;
  error?: string;
}

export async function publish(ctx: BenchContext, kind: BrokerKind, client: 'ours' | 'python'): Promise<PublishFigure> {
  const n = config.n;
  const figure: PublishFigure = { broker: kind, client, n };
  const queue = benchQueue(`publish-${client}-${kind}`);
  try {
    ctx.progress(`publish ${client} on ${kind}: ${n} sends to ${queue}`);
    let seconds: number;
    if (client === 'python') {
      ({ seconds } = await runPythonScript<{ seconds: number }>('bench_publish.py', { broker: config.brokers[kind], backend: config.backend, queue }, [String(n)]));
    } else {
      const child = new NodeChild(`our client publishing on ${kind}`, 'our-client.js', {
        mode: 'publish',
        broker: config.brokers[kind],
        backend: config.backend,
        queue,
        task: config.task,
        n,
        inflight: config.inflight,
      }, { profileName: `client-publish-${kind}` });
      try {
        seconds = (await child.next('result', 600_000)).seconds as number;
      } finally {
        await child.stop();
      }
    }
    figure.seconds = seconds;
    figure.rate = n / seconds;
    // + 1: the warm-up send before timing
    const depth = await ctx.admin.depth(kind, queue);
    if (depth !== n + 1) throw new Error(`sent ${n + 1} tasks but queue ${queue} holds ${depth}`);
  } catch (error) {
    figure.error = errorText(error);
    ctx.progress(`publish ${client} on ${kind} failed: ${figure.error}`);
  } finally {
    await ctx.admin.deleteQueue(kind, queue).catch(() => undefined);
  }
  return figure;
}
