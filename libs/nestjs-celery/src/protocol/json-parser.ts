/**
 * The slow path of `loads` (json.ts): a small recursive-descent parser for documents with NaN,
 * Infinity or long digit runs, which JSON.parse rejects or rounds. Reads what Python's json
 * module reads: NaN/Infinity/-Infinity literals, integers of any size (BigInt beyond 2^53),
 * duplicate keys (the last wins).
 */

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

/** Parse JSON text as Python's json.loads does, integers beyond 2^53 as BigInt. */
export function parseJsonLosslessly(text: string): unknown {
  try {
    return new SlowParser(text).parseDocument();
  } catch (err) {
    // it recurses per nesting level (Python's json does too, and stops at its recursion limit)
    if (err instanceof RangeError) throw new JsonDecodeError(`JSON nested too deeply to read (${err.message})`);
    throw err;
  }
}

/**
 * String tokens are decoded by JSON.parse, so escapes behave exactly as on the fast path.
 * (lossless-json was considered: it rejects NaN/Infinity and duplicate keys, which Python
 * accepts, so it does not fit.)
 */
class SlowParser {
  private pos = 0;
  private depth = 0;

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

  /** Python's json gives up with RecursionError near here too; past it this recursive parser would overflow the stack. */
  private static readonly MAX_DEPTH = 1000;

  private enter(): void {
    if (++this.depth > SlowParser.MAX_DEPTH) this.fail(`Nesting deeper than ${SlowParser.MAX_DEPTH} levels`);
  }

  private parseArray(): unknown[] {
    this.enter();
    this.pos++; // [
    const out: unknown[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      this.depth--;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      out.push(this.parseValue());
      this.skipWhitespace();
      const c = this.text[this.pos++];
      if (c === ']') {
        this.depth--;
        return out;
      }
      if (c !== ',') {
        this.pos--;
        this.fail("Expecting ',' delimiter");
      }
    }
  }

  private parseObject(): Record<string, unknown> {
    this.enter();
    this.pos++; // {
    const out: Record<string, unknown> = {};
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      this.depth--;
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
      if (c === '}') {
        this.depth--;
        return out;
      }
      if (c !== ',') {
        this.pos--;
        this.fail("Expecting ',' delimiter");
      }
    }
  }
}
