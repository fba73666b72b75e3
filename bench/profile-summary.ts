/**
 * Where the CPU time of a profiled bench child went: reads the `.cpuprofile` files that
 * BENCH_PROFILE=1 writes into .bench/profiles and prints self time by area (our engine,
 * protocol, transports, ioredis, amqplib, rxjs, node internals, GC, idle) and the top functions.
 *
 *   node dist/bench/profile-summary.js [file.cpuprofile …]   (default: every profile there)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { config } from './config.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The area a frame belongs to, from its script URL. */
function area(url: string, name: string): string {
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return 'program (native, unattributed)';
  const m = /libs\/nestjs-celery\/src\/([^/]+)\/(.+)$/.exec(url);
  if (m) return `ours: ${m[1]}/${m[2].replace(/\.js$/, '.ts')}`;
  if (url.includes('/bench/')) return 'bench child';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm: ${pkg[1]}`;
  if (url.startsWith('node:')) return `node: ${url.slice(5)}`;
  if (url === '') return `native: ${name || '(anonymous)'}`;
  return url;
}

const short = (url: string) => url.replace(/^.*\/(libs\/nestjs-celery\/src|node_modules)\//, '').replace(/^file:\/\//, '');

export function summarize(path: string, top = 25): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // native and node-internal frames charged to the first library/our frame above them
  const attributed = new Map<string, number>();
  const isPlumbing = (n: ProfileNode) => n.callFrame.url === '' || n.callFrame.url.startsWith('node:');
  let idle = 0;
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') idle += us;
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
    const key = `${functionName || '(anonymous)'}  ${url ? `${short(url)}:${lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    if (functionName.startsWith('(')) continue;
    let at: ProfileNode | undefined = byId.get(id);
    while (at && isPlumbing(at) && parent.has(at.id)) at = byId.get(parent.get(at.id)!);
    if (at && !isPlumbing(at)) {
      const k = `${at.callFrame.functionName || '(anonymous)'}  ${short(at.callFrame.url)}:${at.callFrame.lineNumber + 1}`;
      attributed.set(k, (attributed.get(k) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)} %`;
  const lines = [
    `${basename(path)}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s on CPU (${((busy / total) * 100).toFixed(0)} %); shares below are of CPU time`,
  ];
  lines.push('  by area (self time):');
  for (const [a, us] of [...areas]
    .filter(([a]) => a !== 'idle')
    .sort((x, y) => y[1] - x[1])
    .slice(0, 20))
    lines.push(`    ${pct(us)}  ${a}`);
  lines.push(`  top ${top} functions (self time):`);
  for (const [f, us] of [...fns]
    .filter(([f]) => !f.startsWith('(idle)'))
    .sort((x, y) => y[1] - x[1])
    .slice(0, top))
    lines.push(`    ${pct(us)}  ${f}`);
  lines.push(`  top ${top} library/our functions, native and node-internal work below them included:`);
  for (const [f, us] of [...attributed].sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`    ${pct(us)}  ${f}`);
  return lines.join('\n');
}

function main(): void {
  const dir = join(config.outDir, 'profiles');
  const files = process.argv.slice(2);
  const paths = files.length
    ? files
    : readdirSync(dir)
        .filter((f) => f.endsWith('.cpuprofile'))
        .sort()
        .map((f) => join(dir, f));
  if (!paths.length) {
    process.stderr.write(`no profiles in ${dir}: run the bench with BENCH_PROFILE=1 first\n`);
    process.exit(1);
  }
  for (const p of paths) process.stdout.write(`${summarize(p)}\n\n`);
}

main();
