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
import { pyFloatRepr } from './repr.js';

/** Invalid JSON text (Python's json.JSONDecodeError). A SyntaxError, like JSON.parse's. */
export class JsonDecodeError extends SyntaxError {
  constructor(
    message: string,
    readonly position?: number,
  ) {
    super(message);
    this.name = 'JsonDecodeError';
  }
}

/** Python `json.dumps` defaults: ensure_ascii=True, allow_nan=True (NaN, Infinity), separators ', ' and ': '. BigInt is written as a plain integer. */
export function dumps(value: unknown): string {
  const out = encode(value, 0, null);
  if (out === undefined) {
    throw new TypeError(`Object of type ${typeof value} is not JSON serializable`);
  }
  return out;
}

/** Python-compatible parse: accepts NaN/Infinity/-Infinity; integers beyond 2^53 become BigInt (never silently rounded). Throws SyntaxError on invalid input. */
export function loads(text: string): unknown {
  // Any integer of 16+ digits may be unsafe (MAX_SAFE_INTEGER has 16 digits). A hit inside a
  // string is a false positive that only costs the slow path. (Three separate scans are several
  // times faster than one alternation regex.)
  if (text.indexOf('NaN') === -1 && text.indexOf('Infinity') === -1 && !LONG_DIGIT_RUN.test(text)) {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new JsonDecodeError((err as Error).message);
    }
  }
  return new SlowParser(text).parseDocument();
}

const LONG_DIGIT_RUN = /[0-9]{16}/;
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
      if (depth < CYCLE_CHECK_DEPTH) return encodeObject(value, depth + 1, null);
      ancestors ??= new Set();
      if (ancestors.has(value)) throw new TypeError('Circular reference detected');
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
  const proto = Object.getPrototypeOf(value);
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

function encodePlainObject(obj: Record<string, unknown>, depth: number, ancestors: Set<object> | null): string {
  const keys = Object.keys(obj);
  let out = '{';
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const encoded = encode(obj[keys[i]], depth, ancestors);
    if (encoded === undefined) continue;
    out += (first ? '' : ', ') + quoteString(keys[i]) + ': ' + encoded;
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

/**
 * The slow path: a small recursive-descent parser for documents that contain NaN, Infinity or
 * long digit runs. String tokens are decoded by JSON.parse so escapes behave exactly as in the
 * fast path. (lossless-json was considered: it rejects NaN/Infinity and duplicate keys, which
 * Python accepts, so it does not fit.)
 */
class SlowParser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parseDocument(): unknown {
    this.skipWhitespace();
    const value = this.parseValue();
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail('Extra data');
    return value;
  }

  private fail(what: string): never {
    const near = JSON.stringify(this.text.slice(this.pos, this.pos + 20));
    throw new JsonDecodeError(`${what} in JSON at position ${this.pos} (near ${near})`, this.pos);
  }

  private skipWhitespace(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  private parseValue(): unknown {
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.parseObject();
      case '[':
        return this.parseArray();
      case '"':
        return this.parseString();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      case 'N':
        return this.literal('NaN', NaN);
      case 'I':
        return this.literal('Infinity', Infinity);
      case '-':
        if (this.text.startsWith('-Infinity', this.pos)) return this.literal('-Infinity', -Infinity);
        return this.parseNumber();
      default:
        if (c !== undefined && c >= '0' && c <= '9') return this.parseNumber();
        return this.fail(c === undefined ? 'Unexpected end of input' : 'Expecting value');
    }
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('Expecting value');
    this.pos += word.length;
    return value;
  }

  private static readonly NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

  private parseNumber(): number | bigint {
    const re = SlowParser.NUMBER;
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) return this.fail('Expecting value');
    this.pos = re.lastIndex;
    const literal = m[0];
    const n = Number(literal);
    // Python reads a literal without fraction or exponent as an int of any size
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(literal);
    return n;
  }

  private parseString(): string {
    const t = this.text;
    const start = this.pos;
    let p = start + 1;
    let plain = true;
    for (;;) {
      const c = t.charCodeAt(p);
      if (Number.isNaN(c)) {
        this.pos = start;
        this.fail('Unterminated string starting');
      }
      if (c === 0x22) break;
      if (c === 0x5c) {
        plain = false;
        p += 2;
        continue;
      }
      if (c < 0x20) plain = false; // let JSON.parse report the invalid control character
      p++;
    }
    this.pos = p + 1;
    if (plain) return t.slice(start + 1, p);
    try {
      return JSON.parse(t.slice(start, p + 1)) as string;
    } catch (err) {
      this.pos = start;
      return this.fail(`Invalid string (${(err as Error).message})`);
    }
  }

  private parseArray(): unknown[] {
    this.pos++; // [
    const out: unknown[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      out.push(this.parseValue());
      this.skipWhitespace();
      const c = this.text[this.pos++];
      if (c === ']') return out;
      if (c !== ',') {
        this.pos--;
        this.fail("Expecting ',' delimiter");
      }
    }
  }

  private parseObject(): Record<string, unknown> {
    this.pos++; // {
    const out: Record<string, unknown> = {};
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail('Expecting property name enclosed in double quotes');
      const key = this.parseString();
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail("Expecting ':' delimiter");
      this.pos++;
      this.skipWhitespace();
      const value = this.parseValue();
      // duplicate keys: the last one wins, as in Python and JSON.parse
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
      this.skipWhitespace();
      const c = this.text[this.pos++];
      if (c === '}') return out;
      if (c !== ',') {
        this.pos--;
        this.fail("Expecting ',' delimiter");
      }
    }
  }
}
