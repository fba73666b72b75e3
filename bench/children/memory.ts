/** A Node child's memory for the bench's RSS and soak rows: process.memoryUsage() after a full GC, with where the resident pages lie (/proc/self/smaps). */
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

/** V8's regular heap page (Node is built without pointer compression): each one its own 256 KiB mapping. */
const V8_PAGE_BYTES = 256 * 1024;

/**
 * Resident kB of this process by kind of mapping: `brk` = the C heap ([heap], glibc's main
 * arena), `anon` = anonymous mappings (V8's heap pages, glibc's other arenas and large
 * blocks, thread stacks), `file` = code and data of files (node itself, shared libraries);
 * `v8Pages` = the part of `anon` in 256 KiB mappings, V8's heap pages whether V8 counts them in
 * heapTotal or keeps them in its page pool (resident, reused, not in heapTotal).
 */
export function residentByMapping(): { brkKB: number; anonKB: number; fileKB: number; v8PagesKB: number } | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return undefined;
  }
  const out = { brkKB: 0, anonKB: 0, fileKB: 0, v8PagesKB: 0 };
  let kind: 'brkKB' | 'anonKB' | 'fileKB' = 'anonKB';
  let v8Page = false;
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      const fields = line.split(/\s+/);
      const name = fields.slice(5).join(' ');
      const [from, to] = fields[0].split('-').map((x) => parseInt(x, 16));
      kind = name === '[heap]' ? 'brkKB' : name === '' || name.startsWith('[') ? 'anonKB' : 'fileKB';
      v8Page = name === '' && to - from === V8_PAGE_BYTES;
    } else if (line.startsWith('Rss:')) {
      const kB = Number(line.split(/\s+/)[1]);
      out[kind] += kB;
      if (v8Page) out.v8PagesKB += kB;
    }
  }
  return out;
}

/**
 * Memory now, after a full GC when the process runs with --expose-gc (heapUsed is then what it
 * really keeps). `lastResort`: V8's last-resort GC instead, the one that also frees V8's page pool
 * (what a heap snapshot or memory pressure does; a plain full GC keeps the pool's pages resident).
 */
export function memory(lastResort = false): Record<string, number> {
  if (lastResort) globalThis.gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  else globalThis.gc?.();
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [`space:${s.space_name}`, s.space_size]));
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, ...residentByMapping(), ...spaces };
}
