/**
 * msgpack as kombu uses it (kombu/serialization.py: `packb(use_bin_type=True)`,
 * `unpackb(raw=False)`): str is str, bytes are bin, maps are plain maps (no msgpackr records).
 */
import { Packr, Unpackr } from 'msgpackr';
import { toJsonIsoString } from './dates.js';

const packr = new Packr({ useRecords: false, variableMapSize: true, encodeUndefinedAsNil: true });
// int64AsType 'auto' (supported by msgpackr's unpack.js, missing from its typings): safe
// integers as numbers, larger ones as BigInt, never rounded
const unpackOptions = { useRecords: false, mapsAsObjects: true, int64AsType: 'auto' };
const unpackr = new Unpackr(unpackOptions as unknown as ConstructorParameters<typeof Unpackr>[0]);
// msgpackr renames a map key "__proto__" to "__proto_" when it builds objects; maps read as Map
// keep every key, and mapToObject turns them into objects that keep "__proto__" as a key
const mapUnpackr = new Unpackr({ ...unpackOptions, mapsAsObjects: false } as unknown as ConstructorParameters<typeof Unpackr>[0]);
const PROTO_KEY = Buffer.from('__proto__');

const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;

/**
 * Bring a value to what Python should receive, copying only what changes:
 * - integral numbers outside 32 bits would be packed as float64 by msgpackr, and Python would
 *   get a float; within the int64/uint64 range they become BigInt so they travel as integers;
 * - Dates become ISO strings (as kombu's JSON writes them; Python's msgpack has no datetime);
 * - Sets become lists; undefined/functions are dropped from objects, like JSON.
 */
function toWire(value: unknown): unknown {
  switch (typeof value) {
    case 'number':
      if (Number.isInteger(value) && (value < INT32_MIN || value > UINT32_MAX) && value >= -(2 ** 63) && value < 2 ** 64) {
        return BigInt(value);
      }
      return value;
    case 'function':
    case 'symbol':
      return undefined;
    case 'object':
      if (value === null || value instanceof Uint8Array) return value;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : toJsonIsoString(value);
      if (Array.isArray(value) || value instanceof Set) return mapArray([...value]);
      if (value instanceof Map) {
        const out = new Map<unknown, unknown>();
        for (const [k, v] of value) out.set(k, toWire(v));
        return out;
      }
      return mapObject(value as Record<string, unknown>);
    default:
      return value;
  }
}

function mapArray(items: unknown[]): unknown[] {
  for (let i = 0; i < items.length; i++) {
    const v = toWire(items[i]);
    items[i] = v === undefined ? null : v;
  }
  return items;
}

function mapObject(obj: Record<string, unknown>): unknown {
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return toWire(toJSON.call(obj));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    const v = toWire(obj[key]);
    if (v !== undefined) setKey(out, key, v);
  }
  return out;
}

/** `out[key] = value`, except that a key named __proto__ stays a key instead of the prototype. */
function setKey(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** A value unpacked with maps as Map, with every map made an object as msgpackr would make it (keys as strings). */
function mapToObject(value: unknown): unknown {
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) {
      if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'boolean' && typeof k !== 'bigint' && k != null) {
        throw new Error(`Invalid property type for record: ${typeof k}`);
      }
      setKey(out, String(k), mapToObject(v));
    }
    return out;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = mapToObject(value[i]);
  }
  return value;
}

export function packMsgpack(value: unknown): Buffer {
  return packr.pack(toWire(value));
}

export function unpackMsgpack(body: Buffer): unknown {
  // the slow path only when the bytes of "__proto__" appear at all
  if (body.indexOf(PROTO_KEY) !== -1) return mapToObject(mapUnpackr.unpack(body));
  return unpackr.unpack(body);
}
