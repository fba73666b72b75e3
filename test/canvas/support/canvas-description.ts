/**
 * One JSON description per canvas, built both by Python (test/canvas/python/canvas_build.py)
 * and by our builders here, so both sides provably build the same thing.
 */
import type { Canvas } from '../../../libs/nestjs-celery/src/engine/canvas/index.js';
import { chain, chord, chunks, group, signature, xmap, xstarmap } from '../../../libs/nestjs-celery/src/engine/canvas/index.js';

export interface Options {
  link?: Description | Description[];
  link_error?: Description | Description[];
  [key: string]: unknown;
}

export type Description =
  | { task: string; args?: unknown[]; kwargs?: Record<string, unknown>; immutable?: boolean; options?: Options }
  | { chain: Description[]; options?: Options }
  | { group: Description[]; options?: Options }
  | { chord: Description[]; body: Description; options?: Options }
  | { map: Description; it: unknown[]; options?: Options }
  | { starmap: Description; it: unknown[][]; options?: Options }
  | { chunks: Description; it: unknown[][]; n: number; options?: Options };

/** `{task}` shorthand: s('node.add', 2, 2) → a mutable signature description. */
export const s = (task: string, ...args: unknown[]): Description => ({ task, args });
export const si = (task: string, ...args: unknown[]): Description => ({ task, args, immutable: true });
export const withOptions = <D extends Description>(d: D, options: Options): D => ({ ...d, options: { ...d.options, ...options } });

/** Python's wire option names → ours (SignatureOptions). */
const CAMEL: Record<string, string> = {
  time_limit: 'timeLimit',
  soft_time_limit: 'softTimeLimit',
  ignore_result: 'ignoreResult',
  routing_key: 'routingKey',
  task_id: 'taskId',
};

export function build(d: Description): Canvas {
  let sig: Canvas;
  if ('chain' in d) sig = chain(d.chain.map(build));
  else if ('group' in d) sig = group(d.group.map(build));
  else if ('chord' in d) sig = chord(d.chord.map(build), build(d.body));
  else if ('map' in d) sig = xmap(build(d.map), d.it);
  else if ('starmap' in d) sig = xstarmap(build(d.starmap), d.it);
  else if ('chunks' in d) sig = chunks(build(d.chunks), d.it, d.n);
  else sig = signature(d.task, d.args ?? [], d.kwargs ?? {}, { immutable: d.immutable ?? false });
  const { link, link_error: linkError, ...rest } = d.options ?? {};
  for (const l of list(link)) sig.link(build(l));
  for (const e of list(linkError)) sig.linkError(build(e));
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) options[CAMEL[k] ?? k] = v;
  if (Object.keys(options).length) sig.set(options);
  return sig;
}

const list = (v: Description | Description[] | undefined): Description[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
