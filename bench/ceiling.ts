/**
 * The ceilings: the broker alone, the result backend alone, and both together with no Celery
 * logic (children/ceiling-raw.ts), measured in the same rounds as the workers so that "ours as a
 * % of the combined ceiling" compares figures of the same minute. The combined ceiling runs as a
 * drain (drain.scenario.ts, worker 'ceiling:both'); these two and the publish ceiling are here.
 */
import { config, benchQueue, type BrokerKind } from './config.js';
import type { BenchContext } from './context.js';
import type { DrainFigure } from './drain.scenario.js';
import { preload } from './preload.js';
import { cpuTimeMs, NodeChild } from './processes.js';
import type { PublishFigure } from './publish.scenario.js';
import { errorText } from './stats.js';

function rawChild(label: string, mode: 'broker' | 'backend' | 'publish', kind: BrokerKind, queue: string, extra: Record<string, unknown> = {}): NodeChild {
  return new NodeChild(
    label,
    'ceiling-raw.js',
    { mode, broker: config.brokers[kind], backend: config.backend, queue, n: config.n, concurrency: config.concurrency, inflight: config.inflight, ...extra },
    { profileName: `ceiling-${mode}-${kind}` },
  );
}

/**
 * The broker alone: N preloaded tasks consumed with our prefetch and acks, nothing decoded or
 * stored. Timed by the consumer (first → last delivery); afterwards the queue must be empty.
 */
export async function brokerCeiling(ctx: BenchContext, kind: BrokerKind): Promise<DrainFigure> {
  const n = config.n;
  const figure: DrainFigure = { broker: kind, worker: 'ceiling:broker', n };
  const queue = benchQueue(`ceiling-broker-${kind}`);
  let child: NodeChild | undefined;
  try {
    ctx.progress(`ceiling broker alone on ${kind}: preloading ${n} tasks on ${queue}`);
    figure.preloadRate = (await preload(ctx, kind, queue, n)).rate;
    child = rawChild(`broker ceiling on ${kind}`, 'broker', kind, queue);
    const out = await Promise.race([child.next('result', 600_000), child.died]);
    if (out.count !== n) throw new Error(`the raw consumer counted ${String(out.count)} deliveries of ${n}`);
    figure.seconds = out.seconds as number;
    figure.rate = (n - 1) / figure.seconds;
    figure.workerCpuUsPerTask = (out.cpuUs as number) / (n - 1);
    figure.workerCpuPct = (out.cpuUs as number) / 1e4 / figure.seconds;
    figure.consumers = await ctx.admin.consumers(kind, queue);
    await new Promise((r) => setTimeout(r, 500)); // the last multiple ack lands
    await child.stop();
    child = undefined;
    figure.wrongResults = 0;
    // an unacked delivery goes back to the queue when the consumer closes
    const left = await ctx.admin.depth(kind, queue);
    if (left !== 0) throw new Error(`${left} messages left in ${queue} after the raw consumer acked all ${n}`);
  } catch (error) {
    figure.error = errorText(error);
    ctx.progress(`ceiling broker alone on ${kind} failed: ${figure.error}`);
  } finally {
    await child?.stop().catch(() => undefined);
    await ctx.admin.deleteQueue(kind, queue).catch(() => undefined);
  }
  return figure;
}

/**
 * The result backend alone: N result stores pipelined as our worker's backend sends them,
 * `concurrency` in flight; timed by the result observer exactly as a drain, then verified.
 * It does not depend on the broker; it runs beside each broker's rows to sample it as often.
 */
export async function backendCeiling(ctx: BenchContext, kind: BrokerKind): Promise<DrainFigure> {
  const n = config.n;
  const figure: DrainFigure = { broker: kind, worker: 'ceiling:backend', n };
  const idPrefix = `${benchQueue('ceiling-backend')}-`;
  const ids = Array.from({ length: n }, (_, i) => `${idPrefix}${i}`);
  let child: NodeChild | undefined;
  try {
    ctx.progress(`ceiling backend alone (beside ${kind}): ${n} result stores`);
    let cpuAtFirst: number | null = null;
    const started = rawChild(`backend ceiling (${kind})`, 'backend', kind, '', { idPrefix });
    child = started;
    const completion = await ctx.observer.waitFor('backend ceiling', ids, config.stallMs, started.died, () => (cpuAtFirst = cpuTimeMs(started.pid)));
    const cpuAtEnd = cpuTimeMs(started.pid);
    const ms = completion.last - completion.first;
    figure.seconds = ms / 1000;
    figure.rate = ((n - 1) * 1000) / ms;
    if (cpuAtFirst !== null && cpuAtEnd !== null) {
      figure.workerCpuUsPerTask = ((cpuAtEnd - cpuAtFirst) * 1000) / (n - 1);
      figure.workerCpuPct = ((cpuAtEnd - cpuAtFirst) / ms) * 100;
    }
    await child.stop();
    child = undefined;
    figure.wrongResults = await ctx.admin.verifyResults(ids, (i) => i + 1);
  } catch (error) {
    figure.error = errorText(error);
    ctx.progress(`ceiling backend alone (beside ${kind}) failed: ${figure.error}`);
  } finally {
    await child?.stop().catch(() => undefined);
    await ctx.admin.deleteResults(ids).catch(() => undefined);
  }
  return figure;
}

/**
 * Publishing alone: N task messages of the same size, RabbitMQ with publisher confirms
 * (`inflight` unconfirmed), Redis with pipelined LPUSH; every one must be in the queue after.
 */
export async function publishCeiling(ctx: BenchContext, kind: BrokerKind): Promise<PublishFigure> {
  const n = config.n;
  const figure: PublishFigure = { broker: kind, client: 'ceiling', confirms: true, n };
  const queue = benchQueue(`ceiling-publish-${kind}`);
  const child = rawChild(`publish ceiling on ${kind}`, 'publish', kind, queue);
  try {
    ctx.progress(`ceiling publish alone on ${kind}: ${n} messages to ${queue}`);
    const out = await Promise.race([child.next('result', 600_000), child.died]);
    figure.seconds = out.seconds as number;
    figure.rate = n / figure.seconds;
    const depth = await ctx.admin.depth(kind, queue);
    if (depth !== n) throw new Error(`published ${n} messages (confirmed) but queue ${queue} holds ${depth}`);
  } catch (error) {
    figure.error = errorText(error);
    ctx.progress(`ceiling publish alone on ${kind} failed: ${figure.error}`);
  } finally {
    await child.stop().catch(() => undefined);
    await ctx.admin.deleteQueue(kind, queue).catch(() => undefined);
  }
  return figure;
}
