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
    if (v !== undefined) out[key] = v;
  }
  return out;
}

export function packMsgpack(value: unknown): Buffer {
  return packr.pack(toWire(value));
}

export function unpackMsgpack(body: Buffer): unknown {
  return unpackr.unpack(body);
}
