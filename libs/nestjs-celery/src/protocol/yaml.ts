/**
 * YAML as kombu uses it (kombu/serialization.py: PyYAML `safe_dump` / `safe_load`).
 *
 * Loading resolves plain scalars with PyYAML's own implicit resolvers (yaml/resolver.py), not
 * with a generic YAML 1.1 schema: PyYAML writes `y`, `n` or `1e5` unquoted because to PyYAML
 * they are strings, while YAML 1.1 proper (and js-yaml's YAML11 schema) would read `y` as
 * true and `1e5` as a number. Dumping uses js-yaml's maximum-compatibility schema, which
 * quotes every string any YAML dialect could misread, so PyYAML reads back what we meant.
 * Integers beyond 2^53 are BigInt both ways, like the JSON path.
 */
import {
  binaryTag,
  DEFAULT_SCALAR_STYLE_RULES,
  defineScalarTag,
  dump,
  DUMP_SCHEMA,
  FAILSAFE_SCHEMA,
  intYaml11Tag,
  load,
  mergeTag,
  NOT_RESOLVED,
  omapTag,
  pairsTag,
  SCALAR_STYLE,
  setTag,
  timestampTag,
} from 'js-yaml';

// PyYAML's implicit resolvers (yaml/resolver.py), verbatim in meaning
const PY_NULL = /^(?:~|null|Null|NULL|)$/;
const PY_BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const PY_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const PY_INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const PY_FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

const loadOnly = () => false;

const pyNullTag = defineScalarTag<null>('tag:yaml.org,2002:null', {
  implicit: true,
  implicitFirstChars: null,
  resolve: (source) => (PY_NULL.test(source) ? null : NOT_RESOLVED),
  identify: loadOnly,
});

const pyBoolTag = defineScalarTag<boolean>('tag:yaml.org,2002:bool', {
  implicit: true,
  implicitFirstChars: [...'yYnNtTfFoO'],
  resolve: (source) => (PY_BOOL.test(source) ? PY_TRUE.test(source) : NOT_RESOLVED),
  identify: loadOnly,
});

function sexagesimal(parts: string[]): bigint {
  return parts.reduce((acc, part) => acc * 60n + BigInt(part), 0n);
}

/** PyYAML construct_yaml_int: binary, octal (leading 0), hex, base 60, decimal. */
function pyInt(source: string): number | bigint {
  let text = source.replace(/_/g, '');
  let sign = 1n;
  if (text[0] === '-' || text[0] === '+') {
    if (text[0] === '-') sign = -1n;
    text = text.slice(1);
  }
  let value: bigint;
  if (text === '0') value = 0n;
  else if (text.startsWith('0b')) value = BigInt(text);
  else if (text.startsWith('0x')) value = BigInt(text);
  else if (text[0] === '0') value = BigInt('0o' + text.slice(1));
  else if (text.includes(':')) value = sexagesimal(text.split(':'));
  else value = BigInt(text);
  value *= sign;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

/** PyYAML construct_yaml_float: .inf/.nan, base 60, decimal. */
function pyFloat(source: string): number {
  let text = source.replace(/_/g, '').toLowerCase();
  let sign = 1;
  if (text[0] === '-' || text[0] === '+') {
    if (text[0] === '-') sign = -1;
    text = text.slice(1);
  }
  if (text === '.inf') return sign * Infinity;
  if (text === '.nan') return NaN;
  if (text.includes(':')) return sign * text.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
  return sign * Number(text);
}

const pyIntTag = defineScalarTag<number | bigint>('tag:yaml.org,2002:int', {
  implicit: true,
  implicitFirstChars: ['-', '+', ...'0123456789'],
  resolve: (source) => (PY_INT.test(source) ? pyInt(source) : NOT_RESOLVED),
  identify: loadOnly,
});

const pyFloatTag = defineScalarTag<number>('tag:yaml.org,2002:float', {
  implicit: true,
  implicitFirstChars: ['-', '+', '.', ...'0123456789'],
  resolve: (source) => (PY_FLOAT.test(source) ? pyFloat(source) : NOT_RESOLVED),
  identify: loadOnly,
});

/** Integers for dumping: BigInt too, and the exact value of integral doubles beyond 2^53. */
const writeIntTag = defineScalarTag<number | bigint>('tag:yaml.org,2002:int', {
  implicit: true,
  implicitFirstChars: ['-', '+', ...'0123456789'],
  resolve: (source, isExplicit, tagName) => intYaml11Tag.resolve(source, isExplicit, tagName),
  identify: (data) => typeof data === 'bigint' || intYaml11Tag.identify(data),
  represent: (data: number | bigint) => (typeof data === 'number' && !Number.isSafeInteger(data) ? BigInt(data).toString() : data.toString(10)),
});

const LOAD_SCHEMA = FAILSAFE_SCHEMA.withTags(pyNullTag, pyBoolTag, pyIntTag, pyFloatTag, timestampTag, mergeTag, binaryTag, setTag, omapTag, pairsTag);
const WRITE_SCHEMA = DUMP_SCHEMA.withTags(writeIntTag);

const PY_TIMESTAMP =
  /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$/;

/** Would PyYAML's implicit resolvers read this plain scalar as something other than a string? */
function pyYamlResolves(text: string): boolean {
  return PY_NULL.test(text) || PY_BOOL.test(text) || PY_INT.test(text) || PY_FLOAT.test(text) || PY_TIMESTAMP.test(text) || text === '<<' || text === '=';
}

type ScalarStyleRule = (typeof DEFAULT_SCALAR_STYLE_RULES)[keyof typeof DEFAULT_SCALAR_STYLE_RULES];

/**
 * Quote every string (keys included) that PyYAML would resolve as another type: js-yaml's dump
 * schema knows YAML's resolvers, not PyYAML's, and writes e.g. `._` plain, which PyYAML (and our
 * loader) reads as a float.
 */
const quoteWhatPyYamlResolves: ScalarStyleRule = (layout) => {
  if (layout.style !== SCALAR_STYLE.PLAIN) return;
  if (layout.node.tag !== layout.presenterOptions.schema.defaultScalarTag.tagName) return;
  if (pyYamlResolves(layout.node.value)) layout.style = SCALAR_STYLE.SINGLE_QUOTED;
};

const DUMP_STYLE_RULES: ScalarStyleRule[] = Object.values(DEFAULT_SCALAR_STYLE_RULES).flatMap((rule) =>
  rule === DEFAULT_SCALAR_STYLE_RULES.quoteInvalidPlain ? [quoteWhatPyYamlResolves, rule] : [rule],
);

export function dumpYaml(value: unknown): string {
  return dump(value, { schema: WRITE_SCHEMA, scalarStyleRules: DUMP_STYLE_RULES });
}

/**
 * Load a document, refusing one whose aliases expand to more than `maxNodes` values or that
 * refers to itself (YamlBombError). js-yaml shares an aliased node instead of copying it, so
 * loading an alias bomb is cheap; whatever walks the value next (repr, JSON, the task) is not.
 */
export function loadYaml(text: string, maxNodes = Number.POSITIVE_INFINITY): unknown {
  const value = load(text, { schema: LOAD_SCHEMA });
  if (Number.isFinite(maxNodes)) checkExpansion(value, maxNodes);
  return value;
}

/** A YAML document that expands beyond the bound, or is recursive. */
export class YamlBombError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'YamlBombError';
  }
}

/** Count the values `value` expands to, each shared node once per reference (memoised, O(unique nodes)). */
function checkExpansion(value: unknown, maxNodes: number): void {
  const sizes = new Map<object, number>();
  const onPath = new Set<object>();
  const over = () =>
    new YamlBombError(`YAML document expands to more than ${maxNodes} values through its aliases (an alias bomb?): refused (limit maxYamlNodes)`);
  // iterative post-order walk: deep documents must not overflow the stack
  const stack: { node: object; children: unknown[]; next: number; total: number }[] = [];
  const childrenOf = (node: object): unknown[] =>
    node instanceof Map ? [...node.keys(), ...node.values()] : node instanceof Set ? [...node] : Array.isArray(node) ? node : Object.values(node);
  const isNode = (v: unknown): v is object => typeof v === 'object' && v !== null && !(v instanceof Date) && !ArrayBuffer.isView(v);
  if (!isNode(value)) return;
  stack.push({ node: value, children: childrenOf(value), next: 0, total: 1 });
  onPath.add(value);
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (top.next < top.children.length) {
      const child = top.children[top.next++];
      if (!isNode(child)) {
        top.total++;
      } else if (sizes.has(child)) {
        top.total += sizes.get(child)!;
      } else if (onPath.has(child)) {
        throw new YamlBombError('YAML document is recursive (an alias refers to a node containing it): refused');
      } else {
        onPath.add(child);
        stack.push({ node: child, children: childrenOf(child), next: 0, total: 1 });
        continue;
      }
      if (top.total > maxNodes) throw over();
      continue;
    }
    stack.pop();
    onPath.delete(top.node);
    sizes.set(top.node, top.total);
    const parent = stack[stack.length - 1];
    if (parent) {
      parent.total += top.total;
      if (parent.total > maxNodes) throw over();
    }
  }
}
