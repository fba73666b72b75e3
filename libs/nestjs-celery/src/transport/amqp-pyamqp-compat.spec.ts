import { acceptPyAmqpLongLongs, fixPyAmqpLongLongTags } from './amqp-pyamqp-compat.js';

/** Field-table bytes the way py-amqp `_write_item` writes them. */
const shortstr = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const L = (n: bigint) => {
  const b = Buffer.alloc(9);
  b.write('L');
  b.writeBigInt64BE(n, 1);
  return b;
};
const S = (s: string) => Buffer.concat([Buffer.from('S'), u32(Buffer.byteLength(s)), Buffer.from(s)]);
const I = (n: number) => {
  const b = Buffer.alloc(5);
  b.write('I');
  b.writeInt32BE(n, 1);
  return b;
};
const table = (entries: [string, Buffer][]) => {
  const body = Buffer.concat(entries.flatMap(([k, v]) => [shortstr(k), v]));
  return Buffer.concat([u32(body.length), body]);
};
const F = (entries: [string, Buffer][]) => Buffer.concat([Buffer.from('F'), table(entries)]);
const A = (items: Buffer[]) => {
  const body = Buffer.concat(items);
  return Buffer.concat([Buffer.from('A'), u32(body.length), body]);
};

/** A content-header frame (type 2) with content-type and headers set. */
function headerFrame(headers: Buffer, type = 2): Buffer {
  const props = Buffer.alloc(14);
  props.writeUInt16BE(60, 0); // class basic
  props.writeBigUInt64BE(2n, 4); // body size
  props.writeUInt16BE(0x8000 | 0x2000, 12);
  const payload = Buffer.concat([props, shortstr('application/json'), headers]);
  return Buffer.concat([Buffer.from([type, 0, 1]), u32(payload.length), payload, Buffer.from([0xce])]);
}

describe('fixPyAmqpLongLongTags', () => {
  const headers = table([
    ['big', L(2n ** 40n)],
    ['label', S('L-shaped L')],
    ['small', I(-5)],
    ['list', A([I(1), L(-(2n ** 40n)), S('L')])],
    ['nested', F([['deep', L(2n ** 62n)]])],
  ]);

  it("rewrites every py-amqp 'L' tag to amqplib's 'l' and touches nothing else", () => {
    const frame = headerFrame(headers);
    const expected = Buffer.from(frame);
    fixPyAmqpLongLongTags(frame);
    const diff = [...frame.keys()].filter((i) => frame[i] !== expected[i]);
    expect(diff).toHaveLength(3);
    for (const i of diff) {
      expect(String.fromCharCode(expected[i])).toBe('L');
      expect(String.fromCharCode(frame[i])).toBe('l');
    }
    expect(frame.includes('L-shaped L')).toBe(true);
  });

  it('waits for a complete frame, ignores other frame types, and fixes a frame followed by more data', () => {
    const frame = headerFrame(headers);
    const partial = Buffer.from(frame.subarray(0, frame.length - 3));
    const copy = Buffer.from(partial);
    fixPyAmqpLongLongTags(partial);
    expect(partial.equals(copy)).toBe(true);

    const method = headerFrame(headers, 1);
    const methodCopy = Buffer.from(method);
    fixPyAmqpLongLongTags(method);
    expect(method.equals(methodCopy)).toBe(true);

    const fixed = headerFrame(headers);
    fixPyAmqpLongLongTags(fixed);
    const withTail = Buffer.concat([headerFrame(headers), Buffer.from([3, 0, 1])]);
    fixPyAmqpLongLongTags(withTail);
    expect(withTail.subarray(0, fixed.length).equals(fixed)).toBe(true);
  });

  it('stops at an unknown tag without throwing', () => {
    const frame = headerFrame(table([['odd', Buffer.from('Z123')]]));
    expect(() => fixPyAmqpLongLongTags(frame)).not.toThrow();
  });
});

describe('acceptPyAmqpLongLongs', () => {
  it('reads a complete content-header frame itself, L values included, and consumes exactly that frame', () => {
    const tail = Buffer.from([1, 0, 1]);
    const seen: Buffer[] = [];
    const connection = {
      rest: Buffer.concat([headerFrame(table([['big', L(-(2n ** 40n))]])), tail]),
      recvFrame(this: { rest: Buffer }) {
        seen.push(Buffer.from(this.rest));
        return false;
      },
    };
    expect(acceptPyAmqpLongLongs(connection)).toBe(true);
    const frame = connection.recvFrame() as unknown as { id: number; channel: number; size: number; fields: Record<string, unknown> };
    expect(frame).toMatchObject({ id: 60, channel: 1, size: 2, fields: { contentType: 'application/json', headers: { big: -(2 ** 40) } } });
    expect(seen).toHaveLength(0);
    expect(connection.rest.equals(tail)).toBe(true);
  });

  it('leaves a frame it cannot read to the original, with L rewritten first', () => {
    const seen: Buffer[] = [];
    const connection = {
      rest: headerFrame(table([['big', L(7n)], ['odd', Buffer.from('Z123')]])),
      recvFrame(this: { rest: Buffer }) {
        seen.push(Buffer.from(this.rest));
        return false;
      },
    };
    expect(acceptPyAmqpLongLongs(connection)).toBe(true);
    expect(connection.recvFrame()).toBe(false);
    expect(seen[0].includes(Buffer.concat([shortstr('big'), Buffer.from('l')]))).toBe(true);
    expect(seen[0].includes(Buffer.concat([shortstr('big'), Buffer.from('L')]))).toBe(false);
  });

  it('declines objects that do not look like an amqplib connection', () => {
    expect(acceptPyAmqpLongLongs({})).toBe(false);
    expect(acceptPyAmqpLongLongs(null)).toBe(false);
  });
});
