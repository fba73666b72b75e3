/**
 * How JS values look to a Python peer, for the repr functions: what Python receives after our
 * JSON encoding. Integral numbers below 1e21 are ints, other numbers floats, null/undefined
 * None, Dates ISO strings (kombu's JSON form), Sets lists, Uint8Arrays bytes, and arrays lists
 * unless marked with `pyTuple`.
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
export function pyNumberText(n: number): string {
  if (Number.isSafeInteger(n)) return String(n); // -0 prints as 0, an int
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return BigInt(n).toString(); // exact, as json.ts writes it
  return pyFloatRepr(n);
}

export type Classified =
  | { kind: 'text'; text: string }
  | { kind: 'str'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'list' | 'tuple'; items: readonly unknown[]; obj: object }
  | { kind: 'dict'; entries: readonly (readonly [unknown, unknown])[]; obj: object };

const isDropped = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';

export function classify(value: unknown): Classified {
  switch (typeof value) {
    case 'string':
      return { kind: 'str', text: value };
    case 'number':
      return { kind: 'text', text: pyNumberText(value) };
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

/** Opening and closing bracket of a container as repr prints it (`(x,)` for a 1-tuple). */
export function brackets(c: Extract<Classified, { obj: object }>): [string, string] {
  if (c.kind === 'dict') return ['{', '}'];
  if (c.kind === 'list') return ['[', ']'];
  return ['(', c.items.length === 1 ? ',)' : ')'];
}
