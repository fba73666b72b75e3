/**
 * kombu's pattern matchers for remote-control `pattern`/`matcher` (kombu/matcher.py): `glob`
 * is Python's fnmatch (case-sensitive on POSIX, whole name), `pcre` is `re.match` (anchored at
 * the start only). Pure.
 *
 * Patterns come from the wire, so glob is matched by a two-pointer matcher (one backtrack point,
 * at most pattern × name steps) instead of a regular expression, where `*` repeated backtracks
 * exponentially; pcre patterns with nested quantifiers or back-references are refused for the
 * same reason.
 */

export class UnknownMatcherError extends Error {
  constructor(matcher: string) {
    super(`no matcher installed for "${matcher}": use "glob" or "pcre"`);
    this.name = 'UnknownMatcherError';
  }
}

/** A pattern this worker will not evaluate (too long, or a pcre that could backtrack exponentially). */
export class UnsafePatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafePatternError';
  }
}

/** Patterns longer than this are refused (nodenames are at most a few hundred characters). */
export const MAX_PATTERN_LENGTH = 1024;

const STAR = 0;
/** one glob token: STAR, a literal code unit, '?' (any), or a one-character class */
type GlobToken = typeof STAR | string | RegExp;
const ANY = '\u0000?any';

/** fnmatch.translate's tokens: `*`, `?`, `[seq]`, `[!seq]`; everything else literal. */
export function compileGlob(pattern: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (tokens[tokens.length - 1] !== STAR) tokens.push(STAR);
    } else if (c === '?') tokens.push(ANY);
    else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) tokens.push('[');
      else {
        // JS reads a leading ']' (and '[' under some flags) differently from Python: escape both
        let body = pattern.slice(i + 1, j).replace(/[\\\][]/g, '\\$&');
        if (body.startsWith('!')) body = '^' + body.slice(1);
        else if (body.startsWith('^')) body = '\\' + body;
        // a single-character class cannot backtrack
        tokens.push(new RegExp(`^[${body}]$`, 's'));
        i = j;
      }
    } else tokens.push(c);
  }
  return tokens;
}

function matchesOne(token: Exclude<GlobToken, typeof STAR>, ch: string): boolean {
  if (typeof token === 'string') return token === ANY || token === ch;
  return token.test(ch);
}

/** fnmatch.fnmatchcase(name, pattern), in at most |pattern| × |name| steps. */
export function globMatches(name: string, pattern: string | GlobToken[]): boolean {
  const tokens = typeof pattern === 'string' ? compileGlob(pattern) : pattern;
  let t = 0;
  let n = 0;
  let starAt = -1;
  let resumeAt = 0;
  while (n < name.length) {
    const token = tokens[t];
    if (t < tokens.length && token !== STAR && matchesOne(token, name[n])) {
      t++;
      n++;
    } else if (token === STAR) {
      starAt = t++;
      resumeAt = n;
    } else if (starAt >= 0) {
      // let the last star swallow one more character and retry from there
      t = starAt + 1;
      n = ++resumeAt;
    } else return false;
  }
  while (tokens[t] === STAR) t++;
  return t === tokens.length;
}

/**
 * Star height above one ((a+)+, (a|aa)*) or a back-reference: the shapes that make a
 * backtracking engine take exponential time. One linear scan.
 */
function backtracksExponentially(pattern: string): boolean {
  // per open group: does it hold a quantifier or an alternation?
  const groups: boolean[] = [];
  let closedRisky = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const quantifier = c === '*' || c === '+' || (c === '{' && /\d/.test(pattern[i + 1] ?? '')) || (c === '?' && pattern[i - 1] !== '(');
    if (quantifier && closedRisky) return true;
    closedRisky = false;
    if (c === '\\') {
      if (/[1-9k]/.test(pattern[i + 1] ?? '')) return true;
      i++;
    } else if (c === '[') {
      // a character class: skip to its end
      i++;
      if (pattern[i] === '^') i++;
      if (pattern[i] === ']') i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
    } else if (c === '(') groups.push(false);
    else if (c === ')') {
      closedRisky = groups.pop() ?? false;
      if (closedRisky && groups.length) groups[groups.length - 1] = true;
    } else if ((quantifier || c === '|') && groups.length) groups[groups.length - 1] = true;
  }
  return false;
}

function pcre(pattern: string): RegExp {
  if (backtracksExponentially(pattern)) {
    throw new UnsafePatternError(
      `pcre pattern ${JSON.stringify(pattern.slice(0, 64))} has a nested quantifier or a back-reference, which can take exponential time: refused; use a glob or a simpler pattern`,
    );
  }
  return new RegExp(`^(?:${pattern})`);
}

/** Does `name` match `pattern` with kombu's `matcher` ('glob' when null)? */
export function matches(name: string, pattern: string, matcher: string | null = 'glob'): boolean {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new UnsafePatternError(`destination pattern of ${pattern.length} characters is over the ${MAX_PATTERN_LENGTH}-character limit: refused`);
  }
  switch (matcher ?? 'glob') {
    case 'glob':
      return globMatches(name, pattern);
    case 'pcre':
      return pcre(pattern).test(name);
    default:
      throw new UnknownMatcherError(String(matcher));
  }
}
