/**
 * Python `repr` of JSON-like values.
 *
 * - `pyRepr` reproduces celery/utils/saferepr.py, which writes the argsrepr/kwargsrepr headers
 *   and the repr strings in task events. It is NOT Python's repr: strings are always quoted with
 *   `'` and only `'` is escaped, bytes print as text or hex, containers deeper than 3 levels
 *   print as `[...]`, and output is cut near `maxLength` with `, ...` plus the closing brackets.
 * - `pythonRepr` is the builtin `repr()` (Python's quoting and escaping rules), used where
 *   Python itself would call repr/str, e.g. the last line of a traceback.
 *
 * JS values map to what a Python peer receives after our JSON encoding: integral numbers below
 * 1e21 are ints, other numbers floats, null/undefined None, Dates ISO strings, Sets lists,
 * Uint8Arrays bytes. Arrays are lists unless marked with `pyTuple`.
 */
import { toJsonIsoString } from './dates.js';

const TUPLES = new WeakSet<object>();

/** Mark an array as a Python tuple for repr purposes (it still serializes as a JSON list). */
export function pyTuple<T extends unknown[]>(items: T): T {
  TUPLES.add(items);
  return items;
}

export function isPyTuple(value: unknown): boolean {
  return Array.isArray(value) && TUPLES.has(value);
}

/** Python's float repr (shortest round-trip digits; exponent form when exp < -4 or >= 16). */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const sign = n < 0 ? '-' : '';
  // toExponential() without digits gives the shortest round-trip digits, like Python's repr
  const [mantissa, exp] = Math.abs(n).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const e = Number(exp);
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ex = Math.abs(e) < 10 ? `0${Math.abs(e)}` : String(Math.abs(e));
    return `${sign}${m}e${e < 0 ? '-' : '+'}${ex}`;
  }
  const point = e + 1; // digits before the decimal point
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** int or float text for a JS number, matching what Python reads from our JSON. */
function numberText(n: number): string {
  if (Number.isSafeInteger(n)) return String(n); // -0 prints as 0, an int
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return BigInt(n).toString(); // exact, as json.ts writes it
  return pyFloatRepr(n);
}

// ------------------------------------------------------------------ value classification

type Classified =
  | { kind: 'text'; text: string }
  | { kind: 'str'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'list' | 'tuple'; items: readonly unknown[]; obj: object }
  | { kind: 'dict'; entries: readonly (readonly [unknown, unknown])[]; obj: object };

const isDropped = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';

function classify(value: unknown): Classified {
  switch (typeof value) {
    case 'string':
      return { kind: 'str', text: value };
    case 'number':
      return { kind: 'text', text: numberText(value) };
    case 'bigint':
      return { kind: 'text', text: value.toString() };
    case 'boolean':
      return { kind: 'text', text: value ? 'True' : 'False' };
    case 'object':
      if (value === null) return { kind: 'text', text: 'None' };
      return classifyObject(value);
    default:
      return { kind: 'text', text: 'None' };
  }
}

function classifyObject(value: object): Classified {
  if (Array.isArray(value)) return { kind: TUPLES.has(value) ? 'tuple' : 'list', items: value, obj: value };
  if (value instanceof Uint8Array) return { kind: 'bytes', bytes: value };
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? { kind: 'text', text: 'None' } : { kind: 'str', text: toJsonIsoString(value) };
  }
  if (value instanceof Set) return { kind: 'list', items: [...value], obj: value };
  if (value instanceof Map) return { kind: 'dict', entries: [...value.entries()], obj: value };
  if (value instanceof Number || value instanceof String || value instanceof Boolean || value instanceof BigInt) {
    return classify(value.valueOf());
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return classify(toJSON.call(value));
  const entries = Object.entries(value).filter(([, v]) => !isDropped(v));
  return { kind: 'dict', entries, obj: value };
}

// ------------------------------------------------------------------ saferepr

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
        throw NEEDS_STREAMING;
      default: {
        const [start, end] = containerLits(c);
        if (maxlevels && level >= maxlevels) {
          out = `${start.text}...${end.text}`;
          break;
        }
        // a cycle: saferepr prints its recursion marker (the stack is at most maxlevels deep)
        if (open.includes(c.obj) || open.length > 64) throw NEEDS_STREAMING;
        open.push(c.obj);
        const parts =
          c.kind === 'dict'
            ? c.entries.map(([k, item]) => `${walk(k, 0)}: ${walk(item, level + 1)}`)
            : c.items.map((item) => walk(item, level + 1));
        open.pop();
        return start.text + parts.join(', ') + end.text;
      }
    }
    length += out.length;
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

// ------------------------------------------------------------------ builtin repr / str

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function hex(cp: number, width: number): string {
  return cp.toString(16).padStart(width, '0');
}

function reprStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + hex(cp, 2);
    else if (cp < 0x7f || ch === ' ' || !NON_PRINTABLE.test(ch)) out += ch;
    else if (cp <= 0xff) out += '\\x' + hex(cp, 2);
    else if (cp <= 0xffff) out += '\\u' + hex(cp, 4);
    else out += '\\U' + hex(cp, 8);
  }
  return out + quote;
}

function reprBytes(bytes: Uint8Array): string {
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  let out = 'b' + quote;
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (b < 0x20 || b >= 0x7f) out += '\\x' + hex(b, 2);
    else out += ch;
  }
  return out + quote;
}

function builtinRepr(value: unknown, seen: Set<object>): string {
  const c = classify(value);
  switch (c.kind) {
    case 'text':
      return c.text;
    case 'str':
      return reprStr(c.text);
    case 'bytes':
      return reprBytes(c.bytes);
    default: {
      const [start, end] = containerLits(c);
      if (seen.has(c.obj)) return `${start.text}...${end.text}`;
      seen.add(c.obj);
      const parts =
        c.kind === 'dict'
          ? c.entries.map(([k, v]) => `${builtinRepr(k, seen)}: ${builtinRepr(v, seen)}`)
          : c.items.map((v) => builtinRepr(v, seen));
      seen.delete(c.obj);
      return start.text + parts.join(', ') + end.text;
    }
  }
}

/** Python's builtin `repr()` of a JSON-like value (no truncation). */
export function pythonRepr(value: unknown): string {
  return builtinRepr(value, new Set());
}

/** Python's `str()`: strings as they are, anything else as repr. */
export function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : pythonRepr(value);
}
