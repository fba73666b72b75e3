/**
 * Python's builtin `repr()` and `str()` of JSON-like values: Python's quoting and escaping
 * rules, used where Python itself would call repr/str, e.g. the last line of a traceback or
 * `str(exc)`. (argsrepr/kwargsrepr use celery's saferepr instead: see repr.ts.)
 */
import { brackets, classify } from './py-values.js';

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function hex(cp: number, width: number): string {
  return cp.toString(16).padStart(width, '0');
}

function reprStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + hex(cp, 2);
    else if (cp < 0x7f || ch === ' ' || !NON_PRINTABLE.test(ch)) out += ch;
    else if (cp <= 0xff) out += '\\x' + hex(cp, 2);
    else if (cp <= 0xffff) out += '\\u' + hex(cp, 4);
    else out += '\\U' + hex(cp, 8);
  }
  return out + quote;
}

function reprBytes(bytes: Uint8Array): string {
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  let out = 'b' + quote;
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (b < 0x20 || b >= 0x7f) out += '\\x' + hex(b, 2);
    else out += ch;
  }
  return out + quote;
}

/** Containers nested deeper than this print as `[...]` (values from the wire can nest 10,000 deep). */
const MAX_REPR_DEPTH = 100;

function builtinRepr(value: unknown, seen: Set<object>): string {
  const c = classify(value);
  switch (c.kind) {
    case 'text':
      return c.text;
    case 'str':
      return reprStr(c.text);
    case 'bytes':
      return reprBytes(c.bytes);
    default: {
      const [start, end] = brackets(c);
      // `seen` is the path: a cycle, or nesting Python's repr would not survive either
      // (RecursionError), prints as reprlib's marker instead of overflowing the stack
      if (seen.has(c.obj) || seen.size >= MAX_REPR_DEPTH) return `${start}...${end}`;
      seen.add(c.obj);
      const parts =
        c.kind === 'dict' ? c.entries.map(([k, v]) => `${builtinRepr(k, seen)}: ${builtinRepr(v, seen)}`) : c.items.map((v) => builtinRepr(v, seen));
      seen.delete(c.obj);
      return start + parts.join(', ') + end;
    }
  }
}

/** Python's builtin `repr()` of a JSON-like value (no truncation; nesting beyond 100 levels prints as `[...]`). */
export function pythonRepr(value: unknown): string {
  return builtinRepr(value, new Set());
}

/** Python's `str()`: strings as they are, anything else as repr. */
export function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : pythonRepr(value);
}
