/**
 * py-amqp writes integers beyond ±(2^31-1) in header tables with the tag `L` (signed 64-bit,
 * py-amqp amqp/serialization.py `_write_item`). amqplib's decoder (lib/codec.js) knows only
 * `l` for that and throws "Unexpected type tag" — which closes the whole connection, and the
 * message is redelivered to kill the next one. RabbitMQ reads `L` and `l` alike (signed 64), so
 * we rewrite `L` to `l` in each content-header frame before amqplib decodes it.
 *
 * amqplib offers no hook for this: we wrap `recvFrame` on our own connection objects only.
 * The wrapper first tries our own content-header reader (amqp-content-header.ts), which reads
 * `L` itself; only frames it leaves to amqplib get the rewrite, and it touches only the bytes of
 * a complete header frame at the head of the receive buffer.
 */
import { readContentHeader } from './amqp-content-header.js';

const FRAME_HEADER = 2;
const FRAME_PREFIX = 7; // type u8, channel u16, size u32
const TAG_L = 0x4c; // 'L'
const TAG_l = 0x6c; // 'l'

/** Byte width of fixed-size values in a field table, by tag (RabbitMQ/amqplib meanings). */
const FIXED: Record<number, number> = {};
for (const [tags, width] of [
  ['V', 0],
  ['tbB', 1],
  ['suU', 2],
  ['Iif', 4],
  ['lLdT', 8],
  ['D', 5],
] as const) {
  for (const t of tags) FIXED[t.charCodeAt(0)] = width;
}

/** Rewrites `L` tags in the value at `offset`; returns the offset after it, or -1 if unknown. */
function fixValue(buf: Buffer, offset: number, end: number): number {
  if (!(offset < end)) return -1;
  const tag = buf[offset];
  offset += 1;
  if (tag === TAG_L) buf[offset - 1] = TAG_l;
  const width = FIXED[tag];
  if (width !== undefined) return offset + width;
  if (offset + 4 > end) return -1;
  const len = buf.readUInt32BE(offset);
  offset += 4;
  const stop = offset + len;
  if (stop > end) return -1;
  switch (String.fromCharCode(tag)) {
    case 'S':
    case 'x':
      return stop;
    case 'A':
      while (offset < stop) {
        offset = fixValue(buf, offset, stop);
        if (offset < 0) return -1;
      }
      return stop;
    case 'F':
      return fixTable(buf, offset, stop) ? stop : -1;
    default:
      return -1;
  }
}

function fixTable(buf: Buffer, offset: number, end: number): boolean {
  while (offset < end) {
    offset += 1 + buf[offset]; // key: shortstr (offset < end, so the length byte is there)
    offset = fixValue(buf, offset, end);
    if (offset < 0) return false;
  }
  return true;
}

/**
 * If `rest` starts with a complete content-header frame whose headers table holds `L` values,
 * rewrite them to `l` in place. Exported for the unit test.
 */
export function fixPyAmqpLongLongTags(rest: Buffer): void {
  if (rest.length < FRAME_PREFIX || rest[0] !== FRAME_HEADER) return;
  const size = rest.readUInt32BE(3);
  const end = FRAME_PREFIX + size;
  if (rest.length < end + 1) return; // incomplete: amqplib reads more and calls us again
  // class u16, weight u16, body size u64, property flags u16
  let offset = FRAME_PREFIX + 12;
  if (offset + 2 > end) return;
  const flags = rest.readUInt16BE(offset);
  offset += 2;
  if (!(flags & 0x2000)) return; // no headers
  if (flags & 0x8000) offset += 1 + rest[offset]; // content-type shortstr
  if (flags & 0x4000) offset += 1 + rest[offset]; // content-encoding shortstr
  if (offset + 4 > end) return;
  const len = rest.readUInt32BE(offset);
  offset += 4;
  if (offset + len > end) return;
  fixTable(rest, offset, offset + len);
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
 * Install our content-header reader, and the rewrite for what it leaves to amqplib, on one
 * amqplib connection (`ChannelModel.connection`). Returns false when this amqplib version is
 * shaped differently; then amqplib reads every frame and `L` headers close the connection.
 */
export function acceptPyAmqpLongLongs(connection: unknown): boolean {
  if (!isFrameReader(connection)) return false;
  const recvFrame = connection.recvFrame;
  connection.recvFrame = function (this: FrameReader) {
    const header = readContentHeader(this.rest, this.maxFrameSize ?? 0);
    if (header) {
      this.rest = this.rest.subarray(header.length);
      return header.frame;
    }
    fixPyAmqpLongLongTags(this.rest);
    return recvFrame.call(this);
  };
  return true;
}
