/**
 * What makes a bench run fail: a wrong or missing result anywhere (an error, a result not SUCCESS
 * with x + y, a stalled drain, a Node or Celery peer that could not run). Timings never do.
 */
import type { BenchResults } from './report.js';

interface Checked {
  error?: string;
  wrongResults?: number;
}

/** One line per problem; empty when every part ran and every result was right. */
export function problems(r: BenchResults): string[] {
  const out: string[] = [];
  const check = (label: string, f: Checked | undefined) => {
    if (!f) return;
    if (f.error) out.push(`${label}: ${f.error.split('\n')[0]}`);
    if (f.wrongResults) out.push(`${label}: ${f.wrongResults} results wrong or missing`);
  };
  for (const [major, version] of Object.entries(r.meta.nodes ?? {})) if (!version.startsWith('v')) out.push(`Node ${major}: ${version}`);
  for (const f of r.drain) {
    const label = `drain ${f.worker}${f.node && f.node !== r.meta.node ? ` on Node ${f.node}` : ''}, ${f.broker}, round ${f.round ?? 1}`;
    check(label, f);
    if (!f.error && f.rate === undefined) out.push(`${label}: no rate`);
  }
  for (const f of r.publish) check(`publish ${f.client}, ${f.broker}${f.confirms ? ', confirms' : ''}`, f);
  for (const f of r.rtt)
    check(
      `round trip ${f.pair}${f.node && f.node !== r.meta.node ? ` on Node ${f.node}` : ''}, ${f.broker}${f.broker === 'amqp' && f.confirms ? ', confirms' : ''}`,
      f,
    );
  check('rss', r.rss);
  if (r.quorum) {
    check('quorum', r.quorum);
    for (const [peer, version] of Object.entries(r.quorum.peers)) if (!/^\d/.test(version)) out.push(`quorum: ${peer} ${version}`);
    for (const f of r.quorum.rows) check(`quorum ${f.part} ${f.side} on a ${f.queueType} queue`, f);
  }
  for (const f of r.cpu?.rows ?? []) check(`cpu ${f.task} ${f.worker}`, f);
  check('soak', r.soak);
  return out;
}
