/**
 * The known bombs of issue 12, as fixed inputs: bodies that inflate to 1 GiB, a YAML alias bomb,
 * 10,000 nested header arrays, a glob that backtracked for 37 s.
 */
import * as zlib from 'node:zlib';

export const GIB = 1024 * 1024 * 1024;

/** 1 GiB of zeros, brotli quality 11: 1,681 bytes (the was 832 with a hand-made stream). */
export const BROTLI_1GIB = Buffer.from(
  'y///P/gnAOKxQCD3/o///3/wTwDEYRGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/x///P/gnAOKwAED3/o///3/wTwDEYQGA7v0f////4J8AiMMCAN37P/7//8E/ARCHBQC693/8//+DfwIgDgsAdO//+P//B/8EQBwWAOje//H//w/+CYA4LADQvf/j//8f/BMAcVgAoHv/Nw==',
  'base64',
);

let zlib1Gib: Promise<Buffer> | undefined;

/** 1 GiB of zeros as kombu's zlib compression writes it: about 1 MB (built once, a few seconds). */
export function zlibBomb1Gib(): Promise<Buffer> {
  zlib1Gib ??= (async () => {
    const zero = Buffer.alloc(1 << 20);
    const deflate = zlib.createDeflate({ level: 9 });
    const chunks: Buffer[] = [];
    deflate.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve, reject) => deflate.on('end', resolve).on('error', reject));
    // 1,024 × 1 MiB through one stream, never holding 1 GiB
    for (let i = 0; i < 1024; i++) {
      if (!deflate.write(zero)) await new Promise((resolve) => deflate.once('drain', resolve));
    }
    deflate.end();
    await ended;
    return Buffer.concat(chunks);
  })();
  return zlib1Gib;
}

/** "Billion laughs": nine levels of ten aliases each, 10^9 strings once expanded (about 520 bytes). */
export function yamlAliasBomb(levels = 9): string {
  let doc = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  for (let i = 1; i < levels; i++)
    doc += `a${i}: &a${i} [${Array(10)
      .fill('*a' + (i - 1))
      .join(',')}]\n`;
  return doc;
}

/** A YAML task body [args, kwargs, embed] whose args hold the alias bomb. */
export function yamlTaskBomb(levels = 9): string {
  const lines = ['- - &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < levels; i++)
    lines.push(
      `  - &a${i} [${Array(10)
        .fill('*a' + (i - 1))
        .join(',')}]`,
    );
  return `${lines.join('\n')}\n- {}\n- null\n`;
}

/** A raw AMQP content-header frame (body size 0) whose headers hold `id` then `depth` arrays nested in one another. */
export function nestedHeaderFrame(depth: number, id = 't-1', channel = 1): Buffer {
  const int32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  let inner = Buffer.alloc(0);
  for (let i = 0; i < depth; i++) inner = Buffer.concat([Buffer.from('A'), int32(inner.length), inner]);
  const entries = Buffer.concat([
    Buffer.from([2]),
    Buffer.from('id'),
    Buffer.from('S'),
    int32(id.length),
    Buffer.from(id),
    Buffer.from([4]),
    Buffer.from('deep'),
    inner,
  ]);
  const props = Buffer.alloc(14);
  props.writeUInt16BE(60, 0);
  props.writeBigUInt64BE(0n, 4);
  props.writeUInt16BE(0x2000, 12);
  const payload = Buffer.concat([props, int32(entries.length), entries]);
  const prefix = Buffer.alloc(7);
  prefix[0] = 2;
  prefix.writeUInt16BE(channel, 1);
  prefix.writeUInt32BE(payload.length, 3);
  return Buffer.concat([prefix, payload, Buffer.from([0xce])]);
}

/** The remote-control destination glob that stalled the loop: `*` × 14 then a letter no nodename has. */
export const STALLING_GLOB = '*'.repeat(14) + 'X';
