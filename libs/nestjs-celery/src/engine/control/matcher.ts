/**
 * kombu's pattern matchers for remote-control `pattern`/`matcher` (kombu/matcher.py): `glob`
 * is Python's fnmatch (case-sensitive on POSIX, whole name), `pcre` is `re.match` (anchored at
 * the start only). Pure.
 */

export class UnknownMatcherError extends Error {
  constructor(matcher: string) {
    super(`no matcher installed for "${matcher}": use "glob" or "pcre"`);
    this.name = 'UnknownMatcherError';
  }
}

/** fnmatch.translate: `*`, `?`, `[seq]`, `[!seq]`; everything else literal. */
export function globToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) out += '\\[';
      else {
        let body = pattern.slice(i + 1, j).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = '^' + body.slice(1);
        else if (body.startsWith('^')) body = '\\' + body;
        out += `[${body}]`;
        i = j;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^(?:${out})$`, 's');
}

/** Does `name` match `pattern` with kombu's `matcher` ('glob' when null)? */
export function matches(name: string, pattern: string, matcher: string | null = 'glob'): boolean {
  switch (matcher ?? 'glob') {
    case 'glob':
      return globToRegExp(pattern).test(name);
    case 'pcre':
      return new RegExp(`^(?:${pattern})`).test(name);
    default:
      throw new UnknownMatcherError(String(matcher));
  }
}
