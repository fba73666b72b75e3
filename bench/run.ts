/**
 * `npm run bench`: worker drain rates (ours, Python Celery, celery-node), client publish rates,
 * round-trip latency and our worker's memory, on RabbitMQ and Redis with the Redis result
 * backend. Prints a table and writes .bench/results/<date>.json. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { BrokerAdmin } from './broker-admin.js';
import { backendCeiling, brokerCeiling, publishCeiling } from './ceiling.js';
import { config, ROOT, SHORT } from './config.js';
import type { BenchContext } from './context.js';
import { drain } from './drain.scenario.js';
import { publish } from './publish.scenario.js';
import { belowEngines, celeryDefaultConfirms, computeRatios, ENGINES, render, writeJson, type BenchResults } from './report.js';
import { ResultObserver } from './result-observer.js';
import { machineTicks, otherNodeBinaries } from './processes.js';
import { rssOverTime } from './rss.scenario.js';
import { roundTrip } from './rtt.scenario.js';
import { cpuBound } from './cpu-pool.scenario.js';
import { celeryPeers, quorumQueues } from './quorum.scenario.js';
import { soak, soakConfig } from './soak.scenario.js';
import { problems } from './verdict.js';

function pythonCeleryVersion(): string {
  const r = spawnSync(config.python, ['-c', 'import celery; print(celery.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : `unavailable (${config.python}: ${r.stderr.trim().split('\n').at(-1)})`;
}

function celeryNodeVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'celery-node', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed (npm install)';
  }
}

/** How busy the machine is before we start (other processes make every figure noisier). */
async function baselineBusyPct(): Promise<number> {
  const a = machineTicks();
  await new Promise((r) => setTimeout(r, 1000));
  const b = machineTicks();
  return ((b.busy - a.busy) / Math.max(1, b.total - a.total)) * 100;
}

async function main(): Promise<void> {
  const loadAvgStart = loadavg();
  const busy = await baselineBusyPct();
  const { nodes, unavailable } = otherNodeBinaries(config.nodes);
  const started = Date.now();
  const kinds = [...new Set([...config.brokerKinds, ...(config.parts.has('rss') ? [config.rssBroker] : [])])];
  const admin = new BrokerAdmin(config.brokers, config.backend);
  const observer = new ResultObserver(config.backend);
  await admin.connect(kinds);
  await observer.connect();
  const ctx: BenchContext = { admin, observer, progress: (line) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`) };
  if (belowEngines(process.version, ENGINES))
    ctx.progress(`Node ${process.version} is below package.json's engines ${ENGINES}: these figures are not a supported runtime's`);
  const versions = await admin.versions();
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      ramGB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      loadAvgStart,
      node: process.version,
      nodes: { ...Object.fromEntries(nodes.map((n): [number, string] => [n.major, n.version])), ...unavailable },
      short: SHORT,
      pythonCelery: pythonCeleryVersion(),
      pythonCeleryPeers: config.parts.has('quorum') ? Object.fromEntries(Object.entries(celeryPeers()).map(([k, v]) => [k, v.version])) : undefined,
      celeryNode: celeryNodeVersion(),
      rabbitmq: versions.rabbitmq ?? '?',
      redis: versions.redis ?? '?',
      busyBeforePct: Math.round(busy),
      n: config.n,
      concurrency: config.concurrency,
      inflight: config.inflight,
      rttN: config.rttN,
      brokers: config.brokers,
      backend: config.backend,
      drainDefinition: '(N - 1) / (last - first result stored), stored = backend PUBLISH seen by a PSUBSCRIBE in the bench process',
    },
    drain: [],
    publish: [],
    rtt: [],
    ratios: {},
  };
  try {
    for (const kind of config.brokerKinds) {
      if (config.parts.has('drain')) {
        for (let round = 1; round <= config.rounds; round++) {
          for (const w of config.workers) {
            results.drain.push({ ...(await drain(ctx, kind, w)), round });
            // ours again on each other Node major, in the same round
            if (w === 'ours') for (const node of nodes) results.drain.push({ ...(await drain(ctx, kind, 'ours', node)), round });
          }
          // the ceilings in the same round as the workers (bench/README.md: what each one means)
          results.drain.push({ ...(await brokerCeiling(ctx, kind)), round });
          results.drain.push({ ...(await backendCeiling(ctx, kind)), round });
          results.drain.push({ ...(await drain(ctx, kind, 'ceiling:both')), round });
        }
      }
      if (config.parts.has('publish')) {
        // RabbitMQ: like for like, without confirms (Celery's default) and with them (ours)
        for (const confirms of kind === 'amqp' ? [false, true] : [true]) {
          for (const c of ['ours', 'python'] as const) results.publish.push(await publish(ctx, kind, c, confirms));
        }
        results.publish.push(await publishCeiling(ctx, kind));
      }
      if (config.parts.has('rtt')) {
        // RabbitMQ: like for like, as the publish part; the per-Node rows at Celery's default
        for (const confirms of kind === 'amqp' ? [false, true] : [true]) {
          for (const p of ['ours', 'python'] as const) results.rtt.push(await roundTrip(ctx, kind, p, confirms));
        }
        // the floor beside them: the same hops with no Celery logic, at Celery's default
        results.rtt.push(await roundTrip(ctx, kind, 'ceiling', celeryDefaultConfirms(kind)));
        for (const node of nodes) results.rtt.push(await roundTrip(ctx, kind, 'ours', celeryDefaultConfirms(kind), node));
      }
    }
    if (config.parts.has('rss')) results.rss = await rssOverTime(ctx);
    if (config.parts.has('quorum')) results.quorum = await quorumQueues(ctx);
    if (config.parts.has('cpu')) results.cpu = await cpuBound(ctx);
    if (soakConfig.enabled) results.soak = await soak(ctx);
    if (config.workers.includes('celery-node') && config.brokerKinds.includes('amqp')) await admin.deleteExchangeIfUnused('default');
  } finally {
    await observer.close();
    await admin.close();
  }
  results.ratios = computeRatios(results);
  results.meta.seconds = Math.round((Date.now() - started) / 1000);
  results.meta.loadAvgEnd = loadavg();
  const path = writeJson(results);
  process.stdout.write(
    `\n${render(results)}\n\nwritten to ${path} (${results.meta.seconds ?? '?'} s)${config.profile ? `; CPU profiles in ${join(config.outDir, 'profiles')}` : ''}\n`,
  );
  // a wrong or missing result fails the run (CI's short mode relies on it), a timing never does
  const wrong = problems(results);
  if (wrong.length) {
    process.stdout.write(`\nFAILED: ${wrong.length} wrong or missing result(s):\n${wrong.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error)?.stack ?? error}\n`);
  process.exit(1);
});
