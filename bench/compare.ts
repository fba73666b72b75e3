/**
 * `npm run bench:compare -- a.json b.json` (node dist/bench/compare.js): two runs' JSON files from
 * .bench/results/ side by side, the machine and versions first, then every figure with its change.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { table, type BenchResults } from './report.js';

/** fields that say which row an array element is (they name it rather than being compared) */
const ID_FIELDS = ['broker', 'worker', 'client', 'confirms', 'pair', 'part', 'side', 'queueType', 'task', 'node', 'round', 'tasks'];
/** figures that are settings or targets, not measurements */
const SKIP = new Set(['n', 'target']);

/** Every number in the results under a readable path, array elements named by their ID_FIELDS. */
export function flatten(value: unknown, path = '', out = new Map<string, number>()): Map<string, number> {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) out.set(path, value);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const id =
        item && typeof item === 'object'
          ? ID_FIELDS.filter((k) => k in item)
              .map((k) => `${k}=${String((item as Record<string, unknown>)[k])}`)
              .join(' ')
          : '';
      flatten(item, `${path}[${id || i}]`, out);
    });
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (SKIP.has(k) || (path.endsWith(']') && ID_FIELDS.includes(k))) continue;
      flatten(v, path ? `${path}.${k}` : k, out);
    }
  }
  return out;
}

const show = (x: unknown) => (x === undefined ? '–' : typeof x === 'string' ? x : JSON.stringify(x)).slice(0, 70);
const num = (x?: number) => (x === undefined ? '–' : Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : String(Math.round(x * 100) / 100));

export function compare(a: BenchResults, b: BenchResults, names: [string, string]): string {
  const out: string[] = [];
  const metaKeys = [...new Set([...Object.keys(a.meta), ...Object.keys(b.meta)])].filter((k) => k !== 'drainDefinition');
  out.push('machine, versions and settings:');
  out.push(table([['', ...names], ...metaKeys.map((k) => [k, show(a.meta[k]), show(b.meta[k])])]));
  const { meta: _a, ...figuresA } = a;
  const { meta: _b, ...figuresB } = b;
  const fa = flatten(figuresA);
  const fb = flatten(figuresB);
  const rows: string[][] = [['figure', ...names, 'change']];
  for (const key of [...new Set([...fa.keys(), ...fb.keys()])]) {
    const x = fa.get(key);
    const y = fb.get(key);
    const change = x !== undefined && y !== undefined && x !== 0 ? `${y >= x ? '+' : ''}${(((y - x) / Math.abs(x)) * 100).toFixed(1)} %` : '';
    rows.push([key, num(x), num(y), change]);
  }
  out.push('');
  out.push('figures (change = second over first):');
  out.push(table(rows));
  return out.join('\n');
}

function main(): void {
  const files = process.argv.slice(2);
  if (files.length !== 2) {
    process.stderr.write('usage: npm run bench:compare -- .bench/results/<a>.json .bench/results/<b>.json\n');
    process.exit(2);
  }
  const [a, b] = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as BenchResults);
  process.stdout.write(`${compare(a, b, [basename(files[0]), basename(files[1])])}\n`);
}

main();
