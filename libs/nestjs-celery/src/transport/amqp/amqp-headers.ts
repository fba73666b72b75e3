/**
 * AMQP field tables (message headers, queue arguments) written so that py-amqp reads back the
 * same values, and read back from what amqplib decodes.
 *
 * Why not let amqplib guess the types (amqplib lib/codec.js vs py-amqp amqp/serialization.py):
 * - amqplib writes small ints as `b` (signed) and py-amqp reads `b` as unsigned: -1 → 255;
 * - amqplib writes 16-bit ints as `s`, which py-amqp reads as a short *string*;
 * - amqplib throws on `undefined` inside arrays and on `bigint`, NaN and ±Infinity.
 * So every integer that fits is written as `I` (signed 32), which both sides read alike,
 * larger ones as `l`, which py-amqp reads as unsigned 64 — right for positive values. Integers
 * below -2^31 have no tag both sides read as a signed 64-bit integer (py-amqp's own `L` is
 * unknown to amqplib's encoder), so they travel as doubles: Python sees the same number as a
 * float.
 */
import { plainHeaderTables } from './amqp-content-header.js';
import { AmqpHeaderError } from './amqp-errors.js';

/** amqplib's "typed value" escape hatch: `{ '!': type, value }` (lib/codec.js). */
interface TypedValue {
  '!': string;
  value: unknown;
}

const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;
const INT64_MAX = 2n ** 63n - 1n;

const typed = (type: string, value: unknown): TypedValue => ({ '!': type, value });

function encodeInteger(n: number): TypedValue {
  if (n <= INT32_MAX && n >= INT32_MIN) return typed('int', n);
  // 2^63 and above is not an int64 at all; large negatives: see the file comment.
  if (n > 0 && n < 2 ** 63) return typed('long', n);
  return typed('double', n);
}

function encodeBigInt(n: bigint): TypedValue {
  if (n <= BigInt(INT32_MAX) && n >= BigInt(INT32_MIN)) return typed('int', Number(n));
  if (n > 0n && n <= INT64_MAX) return typed('long', n);
  return typed('double', Number(n));
}

function encodeValue(value: unknown, path: string): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isInteger(value) ? encodeInteger(value) : typed('double', value);
    case 'bigint':
      return encodeBigInt(value);
    case 'undefined':
      // only reached inside arrays (object keys holding undefined are skipped): JSON's choice
      return null;
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        const out = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) out[i] = encodeValue(value[i], `${path}[${i}]`);
        return out;
      }
      if (Buffer.isBuffer(value)) return value;
      if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      // AMQP timestamps are whole seconds; py-amqp reads them as a datetime
      if (value instanceof Date) return typed('timestamp', Math.floor(value.getTime() / 1000));
      return encodeTableAt(value as Record<string, unknown>, path);
    }
    default:
      throw new AmqpHeaderError(
        `header ${path} is a ${typeof value}, which an AMQP field table cannot carry; ` +
          'use strings, numbers, booleans, null, arrays, plain objects or Buffers',
      );
  }
}

function encodeTableAt(table: Record<string, unknown>, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in table) {
    const value = table[key];
    if (value === undefined) continue;
    if (key === '!') {
      throw new AmqpHeaderError(
        `${path ? `header ${path}` : 'the headers table'} has a key '!', which amqplib reserves for typed values and cannot write; rename the key`,
      );
    }
    if (Buffer.byteLength(key) > 255) {
      throw new AmqpHeaderError(`header key ${path}.${key.slice(0, 32)}… is longer than the 255 bytes AMQP allows`);
    }
    const encoded = encodeValue(value, path ? `${path}.${key}` : key);
    // a header literally named __proto__ must stay a key, not become the prototype
    if (key === '__proto__') Object.defineProperty(out, key, { value: encoded, enumerable: true, writable: true, configurable: true });
    else out[key] = encoded;
  }
  return out;
}

/** A field table for amqplib that py-amqp decodes to the same values (see the file comment). */
export function encodeAmqpTable(table: Record<string, unknown>): Record<string, unknown> {
  return encodeTableAt(table, '');
}

function isTyped(value: object): value is TypedValue {
  return Object.prototype.hasOwnProperty.call(value, '!') && typeof (value as TypedValue)['!'] === 'string';
}

function decodeValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = decodeValue(value[i]);
    return value;
  }
  if (isTyped(value)) {
    if (value['!'] === 'timestamp') return new Date((value.value as number) * 1000);
    if (value['!'] === 'decimal') {
      // py-amqp writes the digits signed (Python Decimal); amqplib reads them unsigned
      const { places, digits } = value.value as { places: number; digits: number };
      return (digits | 0) / 10 ** places;
    }
    return value.value;
  }
  const table = value as Record<string, unknown>;
  for (const key in table) table[key] = decodeValue(table[key]);
  return table;
}

/**
 * Plain values from a table amqplib decoded: its typed wrappers for AMQP timestamps and
 * decimals become a Date and a number. Works in place (amqplib hands over fresh objects).
 */
export function decodeAmqpTable(table: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!table) return {};
  if (plainHeaderTables.has(table)) return table;
  return decodeValue(table) as Record<string, unknown>;
}
