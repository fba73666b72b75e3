/**
 * celery/utils/saferepr.py: the repr Celery writes in the argsrepr/kwargsrepr headers and in task
 * events. It is NOT Python's repr (see python-repr.ts): strings are always quoted with `'` and
 * only `'` is escaped, bytes print as text or hex, containers deeper than 3 levels print as
 * `[...]`, and output is cut near `maxLength` with `, ...` plus the closing brackets.
 */
import { classify, pyTuple, type Classified } from './py-values.js';

class Lit {
  constructor(
    readonly text: string,
    /** separators may be dropped when truncating; brackets are always closed */
    readonly truncatable: boolean,
    readonly direction: 1 | 0 | -1,
  ) {}
}
class Key {
  constructor(readonly value: unknown) {}
}
class Done {
  constructor(readonly obj: object) {}
}

const DICT_START = new Lit('{', false, 1);
const DICT_KVSEP = new Lit(': ', true, 0);
const DICT_END = new Lit('}', false, -1);
const LIST_START = new Lit('[', false, 1);
const LIST_END = new Lit(']', false, -1);
const SEP = new Lit(', ', true, 0);
const TUPLE_START = new Lit('(', false, 1);
const TUPLE_END = new Lit(')', false, -1);
const TUPLE_END_SINGLE = new Lit(',)', false, -1);

interface Frame {
  tokens: Iterator<unknown>;
  end: Lit | null;
  endDone: boolean;
}

function* sequenceTokens(start: Lit, items: readonly unknown[], obj: object, end: Lit): Generator<unknown> {
  yield start;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) yield SEP;
    yield items[i];
  }
  yield new Done(obj);
  yield end;
}

function* dictTokens(entries: readonly (readonly [unknown, unknown])[], obj: object): Generator<unknown> {
  yield DICT_START;
  for (let i = 0; i < entries.length; i++) {
    if (i > 0) yield SEP;
    yield new Key(entries[i][0]);
    yield DICT_KVSEP;
    yield entries[i][1];
  }
  yield new Done(obj);
  yield DICT_END;
}

const SURROGATE_PAIR = /[\ud800-\udbff][\udc00-\udfff]/;

/** Python's len(): code points, not UTF-16 units. */
function pyLen(s: string): number {
  return SURROGATE_PAIR.test(s) ? Array.from(s).length : s.length;
}

function pySlice(s: string, end: number): string {
  return SURROGATE_PAIR.test(s) ? Array.from(s).slice(0, end).join('') : s.slice(0, end);
}

/** celery/utils/text.py truncate: cut at maxlen, back to the last space, add '...'. */
function truncate(s: string, maxlen: number | null): string {
  if (maxlen && pyLen(s) >= maxlen) {
    const head = pySlice(s, maxlen);
    const space = head.lastIndexOf(' ');
    return (space >= 0 ? head.slice(0, space) : head) + '...';
  }
  return s;
}

function bytesText(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  }
}

function formatBytes(bytes: Uint8Array, maxlen: number | null): string {
  if (maxlen && bytes.length > maxlen) return `b'${bytesText(bytes.subarray(0, maxlen))}...'`;
  return `b'${bytesText(bytes)}'`;
}

function containerLits(c: { kind: 'list' | 'tuple' | 'dict'; items?: readonly unknown[] }): [Lit, Lit] {
  if (c.kind === 'dict') return [DICT_START, DICT_END];
  if (c.kind === 'list') return [LIST_START, LIST_END];
  return [TUPLE_START, c.items?.length === 1 ? TUPLE_END_SINGLE : TUPLE_END];
}

/**
 * celery.utils.saferepr.saferepr(value, maxlen, maxlevels), token by token. `pyRepr` is the
 * everyday entry point; it takes a faster route when nothing would be truncated.
 */
export function saferepr(value: unknown, maxlen: number | null = null, maxlevels = 3): string {
  let out = '';
  let level = 0;
  const seen = new Set<object>();
  const frames: Frame[] = [{ tokens: [value][Symbol.iterator](), end: null, endDone: true }];
  while (frames.length > 0) {
    const frame = frames[frames.length - 1];
    const next = frame.tokens.next();
    if (next.done) {
      frames.pop();
      continue;
    }
    const item = next.value;
    // what the stream yields: a literal, a key, or the text/str/bytes of a scalar
    let token: Lit | Key | Classified;
    if (item instanceof Done) {
      seen.delete(item.obj);
      continue;
    } else if (item instanceof Lit) {
      level += item.direction;
      if (item === frame.end) frame.endDone = true;
      token = item;
    } else if (item instanceof Key) {
      token = item;
    } else {
      const c = classify(item);
      if (c.kind === 'list' || c.kind === 'tuple' || c.kind === 'dict') {
        const [start, end] = containerLits(c);
        if (maxlevels && level >= maxlevels) {
          token = { kind: 'text', text: `${start.text}...${end.text}` };
        } else if (seen.has(c.obj)) {
          token = { kind: 'text', text: `<Recursion on ${c.kind} with id=0>` };
        } else {
          seen.add(c.obj);
          const tokens = c.kind === 'dict' ? dictTokens(c.entries, c.obj) : sequenceTokens(start, c.items, c.obj, end);
          frames.push({ tokens, end, endDone: false });
          continue;
        }
      } else {
        token = c;
      }
    }

    if (maxlen !== null && maxlen <= 0) {
      // out of room: an ellipsis, then close every bracket still open
      out += ', ...';
      for (let i = frames.length - 1; i >= 0; i--) {
        const f = frames[i];
        if (f.end && !f.endDone) out += f.end.text;
      }
      return out;
    }
    let text: string;
    if (token instanceof Lit) text = token.text;
    else if (token instanceof Key) text = saferepr(token.value, maxlen, maxlevels);
    else if (token.kind === 'str') text = `'${truncate(token.text, maxlen).replace(/'/g, "\\'")}'`;
    else if (token.kind === 'bytes') text = formatBytes(token.bytes, maxlen);
    else text = truncate((token as { text: string }).text, maxlen);
    out += text;
    if (maxlen !== null) maxlen -= pyLen(text);
  }
  return out;
}

/** Thrown inside fastSaferepr when the exact streaming algorithm is needed. */
const NEEDS_STREAMING = Symbol('needs streaming');

/**
 * saferepr when nothing gets truncated: a plain recursive walk. If the whole output stays below
 * maxlen, every token found more room than its own length, so the streaming algorithm would
 * not have cut anything and produces the same text. Bytes (whose cut depends on their byte
 * count, not their printed length) and cycles go to the streaming algorithm.
 */
function fastSaferepr(value: unknown, maxlen: number, maxlevels: number): string | null {
  let length = 0;
  const open: object[] = [];
  const walk = (v: unknown, level: number): string => {
    const c = classify(v);
    let out: string;
    switch (c.kind) {
      case 'text':
        out = c.text;
        break;
      case 'str':
        out = `'${c.text.replace(/'/g, "\\'")}'`;
        break;
      case 'bytes':
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- private sentinel, caught below
        throw NEEDS_STREAMING;
      default: {
        const [start, end] = containerLits(c);
        if (maxlevels && level >= maxlevels) {
          out = `${start.text}...${end.text}`;
          break;
        }
        // a cycle: saferepr prints its recursion marker (the stack is at most maxlevels deep)
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- private sentinel, caught below
        if (open.includes(c.obj) || open.length > 64) throw NEEDS_STREAMING;
        open.push(c.obj);
        const parts =
          c.kind === 'dict' ? c.entries.map(([k, item]) => `${walk(k, 0)}: ${walk(item, level + 1)}`) : c.items.map((item) => walk(item, level + 1));
        open.pop();
        return start.text + parts.join(', ') + end.text;
      }
    }
    length += out.length;
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- private sentinel, caught below
    if (length >= maxlen) throw NEEDS_STREAMING;
    return out;
  };
  try {
    const out = walk(value, 0);
    return out.length < maxlen ? out : null;
  } catch (err) {
    if (err === NEEDS_STREAMING) return null;
    throw err;
  }
}

/** Python repr of JSON-like values, truncated like celery's saferepr (argsrepr/kwargsrepr). */
export function pyRepr(value: unknown, maxLength = 1024): string {
  return (maxLength > 0 ? fastSaferepr(value, maxLength, 3) : null) ?? saferepr(value, maxLength, 3);
}

/** argsrepr as Python writes it for `delay(*args)` / `apply_async((…))`: the args as a tuple. */
export function pyArgsRepr(args: readonly unknown[], maxLength = 1024): string {
  return pyRepr(pyTuple([...args]), maxLength);
}
