/**
 * Our own reader for AMQP content-header frames (basic properties and the headers table), put
 * in front of amqplib's on our connections. amqplib offers no hook for this: we wrap
 * `recvFrame` on our own connection objects only.
 *
 * Why: every Celery task message carries a headers table of some twenty entries, and amqplib's
 * generic decoder (lib/codec.js `decodeFields`: a closure per table, a string switch per value)
 * followed by our pass over its typed wrappers (amqp-headers.ts `decodeAmqpTable`) was the
 * largest single cost of a delivery in the worker's profile. This reader produces in one pass
 * what those two produced together:
 * - the same property object amqplib builds (all fourteen keys, absent ones undefined);
 * - header values as `decodeAmqpTable` leaves them: AMQP timestamps as a Date, decimals as a
 *   number (digits read signed, as py-amqp writes Python Decimals);
 * - py-amqp's `L` (signed 64-bit, amqp/serialization.py `_write_item`, for integers beyond
 *   ±(2^31-1)) read like `l`. amqplib's decoder knows only `l` and throws "Unexpected type tag",
 *   which closes the whole connection, and the redelivered message kills the next one.
 *
 * Strings: the frame is turned into one latin1 string (a character per byte) once, and every
 * ASCII key and value (Celery's practically all are) is a slice of it instead of a UTF-8 decode
 * of its own; a string with any byte above 0x7f is decoded as UTF-8.
 *
 * Anything it does not recognise in the frame's layout (another frame type or class, lengths
 * that overrun the frame) is left to amqplib, so amqplib's errors stay what they were: every tag
 * amqplib reads, this reader reads too, so what it leaves amqplib cannot read either.
 *
 * A headers table is where a message controls the most, and it carries its own length: when it
 * cannot be read (an unknown tag, an inner length overrunning it) or is over the bounds (nested
 * deeper than `maxDepth`, more than `maxValues` values: 10,000 nested arrays overflowed the
 * stack), the frame is still read. The message gets the entries read before the problem (the
 * task id comes first in Celery's headers) and is recorded in `unreadableHeaders`, so the
 * consumer refuses that one message instead of amqplib closing the connection, which would
 * bring the same message back forever.
 */

import { DEFAULT_HEADER_LIMITS, headerCountProblem, headerDepthProblem, type HeaderLimits } from '../../protocol/nesting.js';

/** Header tables this reader produced: already plain, `decodeAmqpTable` has nothing to do. */
export const plainHeaderTables = new WeakSet<object>();

/** Header tables read only in part, with what was wrong: the consumer refuses their messages. */
export const unreadableHeaders = new WeakMap<object, string>();

export { DEFAULT_HEADER_LIMITS, type HeaderLimits };

const FRAME_HEADER = 2;
const FRAME_PREFIX = 7; // type u8, channel u16, size u32
const FRAME_END = 0xce;
const CLASS_BASIC = 60;
const TWO_32 = 0x1_0000_0000;

/** What amqplib's frame decoder returns for a content-header frame (lib/frame.js). */
export interface ContentHeaderFrame {
  id: number;
  channel: number;
  size: number;
  fields: Record<string, unknown>;
}

/** A value could not be read here: amqplib gets the frame instead. */
class Unreadable {}
const UNREADABLE = new Unreadable();

/** A headers table over its bounds. */
class OverBound {
  constructor(readonly reason: string) {}
}

/** The strings of one frame: `text` holds its bytes from `base` on, one character per byte. */
class FrameStrings {
  private readonly text: string;

  constructor(
    private readonly buf: Buffer,
    private readonly base: number,
    end: number,
  ) {
    this.text = buf.toString('latin1', base, end);
  }

  get(start: number, end: number): string {
    const buf = this.buf;
    for (let i = start; i < end; i++) {
      if (buf[i] > 0x7f) return buf.toString('utf8', start, end);
    }
    return this.text.slice(start - this.base, end - this.base);
  }
}

/** How many leading keys of a top-level headers table are remembered (Celery's have about twenty). */
const KEY_CACHE_SIZE = 64;

/**
 * The keys of the last top-level headers tables read, by position. Celery's task messages carry
 * the same keys in the same order, so each key's bytes are compared with the string remembered
 * for its position and, when equal, that string is used again: no slice per key and message, and
 * a string V8 has already made a property name. Only ASCII keys are remembered, so equal bytes
 * mean an equal key.
 */
const topLevelKeys: (string | undefined)[] = [];

/** `buf[start, start + length)` holds exactly the ASCII string `key`. */
function holdsKey(buf: Buffer, start: number, length: number, key: string): boolean {
  if (key.length !== length) return false;
  for (let i = 0; i < length; i++) if (buf[start + i] !== key.charCodeAt(i)) return false;
  return true;
}

const ASCII = /^[\x00-\x7f]*$/;

class TableReader {
  offset = 0;
  private depth = 0;
  private values = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly strings: FrameStrings,
    private readonly limits: HeaderLimits = DEFAULT_HEADER_LIMITS,
  ) {}

  /**
   * The top-level headers table at `[offset, end)`: the entries up to the first one that cannot
   * be read or is over the bounds, and what was wrong (undefined when all was read).
   */
  headers(end: number): { table: Record<string, unknown>; problem?: string } {
    const out: Record<string, unknown> = {};
    try {
      this.entries(out, end, true);
      return { table: out };
    } catch (err) {
      if (err instanceof OverBound) return { table: out, problem: err.reason };
      if (err === UNREADABLE) return { table: out, problem: 'a value is malformed (unknown type tag, or a length overrunning the table)' };
      throw err;
    } finally {
      this.offset = end;
    }
  }

  private enter(): void {
    if (++this.depth > this.limits.maxDepth) {
      throw new OverBound(headerDepthProblem(this.limits.maxDepth));
    }
  }

  private count(): void {
    if (++this.values > this.limits.maxValues) {
      throw new OverBound(headerCountProblem(this.limits.maxValues));
    }
  }

  /** `this.buf[offset, end)` is a field table's body. */
  table(end: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.enter();
    this.entries(out, end, false);
    this.depth--;
    return out;
  }

  /** `topLevel`: the keys are looked up in (and remembered into) topLevelKeys. */
  private entries(out: Record<string, unknown>, end: number, topLevel: boolean): void {
    const buf = this.buf;
    for (let index = 0; this.offset < end; index++) {
      const keyLength = buf[this.offset];
      const keyStart = this.offset + 1;
      const keyEnd = keyStart + keyLength;
      if (keyEnd > end) throw UNREADABLE;
      let key: string;
      const known = topLevel && index < KEY_CACHE_SIZE ? topLevelKeys[index] : undefined;
      if (known !== undefined && holdsKey(buf, keyStart, keyLength, known)) key = known;
      else {
        key = this.strings.get(keyStart, keyEnd);
        if (topLevel && index < KEY_CACHE_SIZE) {
          const ascii = ASCII.test(key);
          // remembered as a string of its own: a slice would keep this whole frame's text alive
          if (ascii) key = buf.toString('latin1', keyStart, keyEnd);
          topLevelKeys[index] = ascii ? key : undefined;
        }
      }
      this.offset = keyEnd;
      const value = this.value(end);
      // a key literally named __proto__ stays a key
      if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
    }
    if (this.offset !== end) throw UNREADABLE;
  }

  private value(end: number): unknown {
    const buf = this.buf;
    const at = this.offset;
    if (at >= end) throw UNREADABLE;
    this.count();
    const tag = buf[at];
    const p = at + 1;
    switch (tag) {
      case 0x53: {
        // S: long string
        const stop = this.lengthPrefixed(p, end);
        return this.strings.get(p + 4, stop);
      }
      case 0x49: // I: signed 32
        this.advance(p, 4, end);
        return buf.readInt32BE(p);
      case 0x74: // t: boolean
        this.advance(p, 1, end);
        return buf[p] !== 0;
      case 0x56: // V: void
        this.offset = p;
        return null;
      case 0x6c: // l: signed 64 (amqplib's name)
      case 0x4c: // L: signed 64 (py-amqp's)
        this.advance(p, 8, end);
        // hi·2^32 is exact; adding lo rounds once, as Number(bigint) does
        return buf.readInt32BE(p) * TWO_32 + buf.readUInt32BE(p + 4);
      case 0x64: // d: double
        this.advance(p, 8, end);
        return buf.readDoubleBE(p);
      case 0x46: {
        // F: nested table
        const stop = this.lengthPrefixed(p, end);
        this.offset = p + 4;
        return this.table(stop);
      }
      case 0x41: {
        // A: array
        const stop = this.lengthPrefixed(p, end);
        this.offset = p + 4;
        const items: unknown[] = [];
        this.enter();
        while (this.offset < stop) items.push(this.value(stop));
        if (this.offset !== stop) throw UNREADABLE;
        this.depth--;
        return items;
      }
      case 0x62: // b: signed 8
        this.advance(p, 1, end);
        return buf.readInt8(p);
      case 0x42: // B: unsigned 8
        this.advance(p, 1, end);
        return buf[p];
      case 0x73: // s: signed 16
        this.advance(p, 2, end);
        return buf.readInt16BE(p);
      case 0x75: // u: unsigned 16
        this.advance(p, 2, end);
        return buf.readUInt16BE(p);
      case 0x69: // i: unsigned 32
        this.advance(p, 4, end);
        return buf.readUInt32BE(p);
      case 0x66: // f: float
        this.advance(p, 4, end);
        return buf.readFloatBE(p);
      case 0x54: // T: timestamp, whole seconds (unsigned 64)
        this.advance(p, 8, end);
        return new Date((buf.readUInt32BE(p) * TWO_32 + buf.readUInt32BE(p + 4)) * 1000);
      case 0x44: // D: decimal, places u8 then digits (py-amqp writes them signed)
        this.advance(p, 5, end);
        return buf.readInt32BE(p + 1) / 10 ** buf[p];
      case 0x78: {
        // x: byte array (a view, as amqplib gives it)
        const stop = this.lengthPrefixed(p, end);
        return buf.subarray(p + 4, stop);
      }
      default:
        throw UNREADABLE;
    }
  }

  private advance(p: number, width: number, end: number): void {
    if (p + width > end) throw UNREADABLE;
    this.offset = p + width;
  }

  /** A u32 length at `p`; sets offset past the value and returns that offset. */
  private lengthPrefixed(p: number, end: number): number {
    if (p + 4 > end) throw UNREADABLE;
    const stop = p + 4 + this.buf.readUInt32BE(p);
    if (stop > end) throw UNREADABLE;
    this.offset = stop;
    return stop;
  }
}

/** The shortstr properties around the timestamp, by flag bit, in wire order. */
const STRINGS_BEFORE_TIMESTAMP = [
  [0x0400, 'correlationId'],
  [0x0200, 'replyTo'],
  [0x0100, 'expiration'],
  [0x0080, 'messageId'],
] as const;
const STRINGS_AFTER_TIMESTAMP = [
  [0x0020, 'type'],
  [0x0010, 'userId'],
  [0x0008, 'appId'],
  [0x0004, 'clusterId'],
] as const;

/** The shortstr property at `offset` (its length octet first). */
function shortString(buf: Buffer, strings: FrameStrings, offset: number, end: number): string {
  const stop = offset + 1 + buf[offset];
  if (offset >= end || stop > end) throw UNREADABLE;
  return strings.get(offset + 1, stop);
}

/** Basic properties from `buf[start, end)` (the property flags first), as amqplib names them. */
function basicProperties(buf: Buffer, start: number, end: number, limits: HeaderLimits): Record<string, unknown> {
  if (start + 2 > end) throw UNREADABLE;
  const flags = buf.readUInt16BE(start);
  if (flags === 0) return {}; // amqplib's shape for "no properties"
  const strings = new FrameStrings(buf, start, end);
  let offset = start + 2;
  const fields: Record<string, unknown> = {
    contentType: undefined,
    contentEncoding: undefined,
    headers: undefined,
    deliveryMode: undefined,
    priority: undefined,
    correlationId: undefined,
    replyTo: undefined,
    expiration: undefined,
    messageId: undefined,
    timestamp: undefined,
    type: undefined,
    userId: undefined,
    appId: undefined,
    clusterId: undefined,
  };
  if (flags & 0x8000) {
    fields.contentType = shortString(buf, strings, offset, end);
    offset += 1 + buf[offset];
  }
  if (flags & 0x4000) {
    fields.contentEncoding = shortString(buf, strings, offset, end);
    offset += 1 + buf[offset];
  }
  if (flags & 0x2000) {
    if (offset + 4 > end) throw UNREADABLE;
    const stop = offset + 4 + buf.readUInt32BE(offset);
    if (stop > end) throw UNREADABLE;
    const reader = new TableReader(buf, strings, limits);
    reader.offset = offset + 4;
    const { table: headers, problem } = reader.headers(stop);
    plainHeaderTables.add(headers);
    if (problem) unreadableHeaders.set(headers, problem);
    fields.headers = headers;
    offset = stop;
  }
  if (flags & 0x1000) {
    if (offset >= end) throw UNREADABLE;
    fields.deliveryMode = buf[offset++];
  }
  if (flags & 0x0800) {
    if (offset >= end) throw UNREADABLE;
    fields.priority = buf[offset++];
  }
  for (const [bit, name] of STRINGS_BEFORE_TIMESTAMP) {
    if (flags & bit) {
      fields[name] = shortString(buf, strings, offset, end);
      offset += 1 + buf[offset];
    }
  }
  if (flags & 0x0040) {
    if (offset + 8 > end) throw UNREADABLE;
    fields.timestamp = buf.readUInt32BE(offset) * TWO_32 + buf.readUInt32BE(offset + 4);
    offset += 8;
  }
  for (const [bit, name] of STRINGS_AFTER_TIMESTAMP) {
    if (flags & bit) {
      fields[name] = shortString(buf, strings, offset, end);
      offset += 1 + buf[offset];
    }
  }
  return fields;
}

/**
 * If `rest` starts with a complete basic content-header frame that this reader can read, its
 * decoded frame and the length it took (frame end octet included); otherwise undefined, and
 * the bytes are amqplib's to read. `maxFrameSize` as amqplib checks it (0: no limit).
 */
export function readContentHeader(
  rest: Buffer,
  maxFrameSize: number,
  limits: HeaderLimits = DEFAULT_HEADER_LIMITS,
): { frame: ContentHeaderFrame; length: number } | undefined {
  if (rest.length < FRAME_PREFIX || rest[0] !== FRAME_HEADER) return undefined;
  const size = rest.readUInt32BE(3);
  if (maxFrameSize > 0 && size > maxFrameSize) return undefined;
  const end = FRAME_PREFIX + size;
  if (rest.length < end + 1 || rest[end] !== FRAME_END) return undefined;
  // class u16, weight u16, body size u64, then the property flags
  if (size < 14 || rest.readUInt16BE(FRAME_PREFIX) !== CLASS_BASIC) return undefined;
  try {
    const fields = basicProperties(rest, FRAME_PREFIX + 12, end, limits);
    const bodySize = rest.readInt32BE(FRAME_PREFIX + 4) * TWO_32 + rest.readUInt32BE(FRAME_PREFIX + 8);
    return { frame: { id: CLASS_BASIC, channel: rest.readUInt16BE(1), size: bodySize, fields }, length: end + 1 };
  } catch (err) {
    if (err === UNREADABLE) return undefined;
    throw err;
  }
}

interface FrameReader {
  rest: Buffer;
  maxFrameSize?: number;
  recvFrame(): unknown;
}

function isFrameReader(connection: unknown): connection is FrameReader {
  const c = connection as Partial<FrameReader> | null;
  return !!c && Buffer.isBuffer(c.rest) && typeof c.recvFrame === 'function';
}

/**
 * Put this reader in front of amqplib's on one connection (`ChannelModel.connection`): a
 * complete content-header frame at the head of the receive buffer is read here, every other
 * frame by amqplib. Returns false when this amqplib version is shaped differently; then amqplib
 * reads every frame, and py-amqp's `L` headers close the connection.
 */
export function installContentHeaderReader(connection: unknown, limits: HeaderLimits = DEFAULT_HEADER_LIMITS): boolean {
  if (!isFrameReader(connection)) return false;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be called with .call(this) below
  const recvFrame = connection.recvFrame;
  connection.recvFrame = function (this: FrameReader) {
    const header = readContentHeader(this.rest, this.maxFrameSize ?? 0, limits);
    if (header) {
      this.rest = this.rest.subarray(header.length);
      return header.frame;
    }
    return recvFrame.call(this);
  };
  return true;
}
