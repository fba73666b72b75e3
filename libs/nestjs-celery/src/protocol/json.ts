/**
 * JSON exactly as Python's json module (kombu's default serializer, kombu/utils/json.py) writes
 * and reads it.
 *
 * Writing: Python's `json.dumps` defaults (ensure_ascii, allow_nan, separators ', ' and ': ') so
 * our bodies are byte-identical to what a Python client sends. Reading: NaN/Infinity are
 * accepted (Python emits them) and integers beyond 2^53 come back as BigInt instead of being
 * rounded. The common case (no special tokens) goes straight to the native JSON.parse.
 */
import { toJsonIsoString } from './dates.js';
import { pyFloatRepr } from './py-values.js';
import { JsonDecodeError, parseJsonLosslessly } from './json-parser.js';
import { pythonRepr } from './python-repr.js';

export { JsonDecodeError };

/**
 * A value JSON cannot hold (a cycle, nesting deeper than MAX_JSON_DEPTH, a top-level function
 * or undefined). `pyRepr` is the error Python's json module raises for the same value
 * (`ValueError('Circular reference detected')` …), which kombu wraps in EncodeError.
 */
export class JsonEncodeError extends TypeError {
  readonly pyRepr: string;
  constructor(
    readonly pyType: 'TypeError' | 'ValueError' | 'RecursionError',
    message: string,
  ) {
    super(message);
    this.name = 'JsonEncodeError';
    this.pyRepr = `${pyType}(${pythonRepr(message)})`;
  }
}

/**
 * Deepest nesting dumps writes. Python's json gives up near its recursion limit (1000), so
 * nothing deeper can be read by a Python peer anyway; the bound also keeps a deep value from
 * overflowing the stack.
 */
export const MAX_JSON_DEPTH = 1000;

/** Python `json.dumps` defaults: ensure_ascii=True, allow_nan=True (NaN, Infinity), separators ', ' and ': '. BigInt is written as a plain integer. Throws JsonEncodeError. */
export function dumps(value: unknown): string {
  let out: string | undefined;
  try {
    out = encode(value, 0, null);
  } catch (err) {
    if (err instanceof RangeError) {
      // a string past V8's length limit (or, despite MAX_JSON_DEPTH, the stack)
      throw new JsonEncodeError(/call stack/i.test(err.message) ? 'RecursionError' : 'ValueError', err.message);
    }
    throw err;
  }
  if (out === undefined) {
    throw new JsonEncodeError('TypeError', `Object of type ${typeof value} is not JSON serializable`);
  }
  return out;
}

/**
 * Python-compatible parse: accepts NaN/Infinity/-Infinity; integers beyond 2^53 become BigInt
 * (never silently rounded). Throws SyntaxError on invalid input.
 *
 * The native JSON.parse (iterative, linear) reads almost every message; only when it refuses the
 * text (NaN/Infinity, or invalid JSON, which the slow parser reports as Python would) or returns
 * an integer it may have rounded is the text read again by the slow parser. No scan of the whole
 * text, so a 100 MiB body costs one JSON.parse.
 */
export function loads(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return parseJsonLosslessly(text);
  }
  return holdsUnsafeInteger(value) ? parseJsonLosslessly(text) : value;
}

/**
 * The containers holdsUnsafeInteger has still to walk, shared by every call (the walk calls out
 * to nothing, so no two overlap): slots are written by index and kept between calls, so a walk
 * allocates nothing (a new array per call cost every message one). Cleared after each walk;
 * dropped instead once grown past KEPT_SLOTS.
 */
let pendingContainers: object[] = [];
const KEPT_SLOTS = 4096;

/** An integral number beyond 2^53 anywhere in a parsed value (walked without recursion). */
function holdsUnsafeInteger(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value);
  if (typeof value !== 'object' || value === null) return false;
  const pending = pendingContainers;
  pending[0] = value;
  let top = 1;
  let used = 1;
  try {
    while (top > 0) {
      const container = pending[--top];
      // JSON.parse makes plain arrays and objects: read in place, no array of values per object
      if (Array.isArray(container)) {
        for (let i = 0; i < container.length; i++) {
          const item: unknown = container[i];
          if (typeof item === 'number') {
            if (Number.isInteger(item) && !Number.isSafeInteger(item)) return true;
          } else if (typeof item === 'object' && item !== null) pending[top++] = item;
        }
      } else {
        for (const key in container) {
          const item = (container as Record<string, unknown>)[key];
          if (typeof item === 'number') {
            if (Number.isInteger(item) && !Number.isSafeInteger(item)) return true;
          } else if (typeof item === 'object' && item !== null) pending[top++] = item;
        }
      }
      if (top > used) used = top;
    }
    return false;
  } finally {
    // a return from inside a container leaves its pushes above `used`
    if (top > used) used = top;
    if (used > KEPT_SLOTS) pendingContainers = [];
    // no parsed value stays reachable from here after the walk
    else for (let i = 0; i < used; i++) pending[i] = undefined as unknown as object;
  }
}

/** anything JSON.stringify or ensure_ascii would escape */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;
// ensure_ascii escapes everything outside ' '..'~' that JSON.stringify leaves raw: DEL and non-ASCII
const NON_ASCII = /[\u007f-\uffff]/;
const NON_ASCII_ALL = /[\u007f-\uffff]/g;

function escapeNonAscii(ch: string): string {
  return '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0');
}

/** A JSON string literal as Python writes it with ensure_ascii (lowercase \uXXXX escapes). */
export function quoteString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  // JSON.stringify already escapes quotes, backslashes, control characters and lone
  // surrogates exactly like Python; DEL and non-ASCII characters are left to escape.
  const quoted = JSON.stringify(s);
  return NON_ASCII.test(quoted) ? quoted.replace(NON_ASCII_ALL, escapeNonAscii) : quoted;
}

function encodeNumber(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
  // Integral numbers are ints for Python. Other numbers are floats, written as Python's float
  // repr; that only differs from String(n) below 1e-4 (Python switches to 1e-05 notation
  // earlier than JS) and from 1e21 up.
  const abs = Math.abs(n);
  if (abs >= 1e-4 && abs < 2 ** 53) return String(n);
  if (Number.isInteger(n)) {
    // beyond 2^53 String(n) pads the shortest digits with zeros; write the double's exact
    // value instead, so Python's int is the number we hold
    return abs < 1e21 ? BigInt(n).toString() : String(n);
  }
  return pyFloatRepr(n);
}

/**
 * Cycle detection costs a Set operation per container, so it only starts below this depth: a
 * cycle still repeats past it and is caught there, while ordinary messages never pay for it.
 */
const CYCLE_CHECK_DEPTH = 32;

function encode(value: unknown, depth: number, ancestors: Set<object> | null): string | undefined {
  switch (typeof value) {
    case 'string':
      return quoteString(value);
    case 'number':
      return encodeNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object':
      if (value === null) return 'null';
      if (depth >= MAX_JSON_DEPTH) throw new JsonEncodeError('RecursionError', 'maximum recursion depth exceeded while encoding a JSON object');
      if (depth < CYCLE_CHECK_DEPTH) return encodeObject(value, depth + 1, null);
      ancestors ??= new Set();
      if (ancestors.has(value)) throw new JsonEncodeError('ValueError', 'Circular reference detected');
      ancestors.add(value);
      try {
        return encodeObject(value, depth + 1, ancestors);
      } finally {
        ancestors.delete(value);
      }
    default:
      // undefined, functions, symbols: skipped in objects, null in arrays (JSON.stringify semantics)
      return undefined;
  }
}

function encodeObject(value: object, depth: number, ancestors: Set<object> | null): string | undefined {
  if (Array.isArray(value)) return encodeArray(value, depth, ancestors);
  const proto = Object.getPrototypeOf(value) as object | null;
  if ((proto === Object.prototype || proto === null) && typeof (value as { toJSON?: unknown }).toJSON !== 'function') {
    return encodePlainObject(value as Record<string, unknown>, depth, ancestors);
  }
  if (value instanceof Date) {
    // kombu's JSONEncoder writes datetimes as isoformat() with 'Z' for UTC
    return Number.isNaN(value.getTime()) ? 'null' : quoteString(toJsonIsoString(value));
  }
  if (value instanceof Set) return encodeArray([...value], depth, ancestors);
  if (value instanceof Map) return encodeMap(value, depth, ancestors);
  if (value instanceof Number || value instanceof String || value instanceof Boolean || value instanceof BigInt) {
    return encode(value.valueOf(), depth, ancestors);
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return encode(toJSON.call(value), depth, ancestors);
  return encodePlainObject(value as Record<string, unknown>, depth, ancestors);
}

function encodeArray(items: readonly unknown[], depth: number, ancestors: Set<object> | null): string {
  if (items.length === 0) return '[]';
  let out = '[' + (encode(items[0], depth, ancestors) ?? 'null');
  for (let i = 1; i < items.length; i++) out += ', ' + (encode(items[i], depth, ancestors) ?? 'null');
  return out + ']';
}

/**
 * Object keys as written (`"key": `), for the short keys every message repeats (headers, result
 * meta): a lookup instead of an escape check and two new strings per key. Bounded, since keys
 * also come from user data: once full, further keys are quoted each time.
 */
const keyPrefixes = new Map<string, string>();
const MAX_CACHED_KEYS = 1024;
const MAX_CACHED_KEY_LENGTH = 32;

function keyPrefix(key: string): string {
  let written = keyPrefixes.get(key);
  if (written === undefined) {
    written = quoteString(key) + ': ';
    if (key.length <= MAX_CACHED_KEY_LENGTH && keyPrefixes.size < MAX_CACHED_KEYS) keyPrefixes.set(key, written);
  }
  return written;
}

function encodePlainObject(obj: Record<string, unknown>, depth: number, ancestors: Set<object> | null): string {
  const keys = Object.keys(obj);
  let out = '{';
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const encoded = encode(obj[keys[i]], depth, ancestors);
    if (encoded === undefined) continue;
    out += (first ? keyPrefix(keys[i]) : ', ' + keyPrefix(keys[i])) + encoded;
    first = false;
  }
  return out + '}';
}

function encodeMap(map: Map<unknown, unknown>, depth: number, ancestors: Set<object> | null): string {
  let out = '{';
  let first = true;
  for (const [key, item] of map) {
    const encoded = encode(item, depth, ancestors);
    if (encoded === undefined) continue;
    out += (first ? '' : ', ') + quoteString(typeof key === 'string' ? key : String(key)) + ': ' + encoded;
    first = false;
  }
  return out + '}';
}
