/**
 * YAML as kombu uses it (kombu/serialization.py: PyYAML `safe_dump` / `safe_load`, YAML 1.1).
 * Loading uses js-yaml's YAML 1.1 schema so plain scalars mean what they mean to PyYAML
 * (`yes` is true, timestamps are dates); dumping uses the maximum-compatibility schema, which
 * quotes every string another YAML dialect could misread. Integers beyond 2^53 are BigInt both
 * ways, like the JSON path.
 */
import { DUMP_SCHEMA, YAML11_SCHEMA, defineScalarTag, dump, intYaml11Tag, load, NOT_RESOLVED } from 'js-yaml';

const DECIMAL_INT = /^[-+]?(?:0|[1-9][0-9_]*)$/;

const bigIntTag = defineScalarTag<number | bigint>('tag:yaml.org,2002:int', {
  implicit: true,
  implicitFirstChars: ['-', '+', ...'0123456789'],
  resolve(source, isExplicit, tagName) {
    const value = intYaml11Tag.resolve(source, isExplicit, tagName);
    if (value === NOT_RESOLVED || Number.isSafeInteger(value) || !DECIMAL_INT.test(source)) return value;
    return BigInt(source.replace(/_/g, ''));
  },
  identify: (data) => typeof data === 'bigint' || intYaml11Tag.identify(data),
  // beyond 2^53 a number's toString pads the shortest digits with zeros: write its exact value
  represent: (data) => (typeof data === 'number' && !Number.isSafeInteger(data) ? BigInt(data).toString() : data.toString(10)),
});

const LOAD_SCHEMA = YAML11_SCHEMA.withTags(bigIntTag);
const WRITE_SCHEMA = DUMP_SCHEMA.withTags(bigIntTag);

export function dumpYaml(value: unknown): string {
  return dump(value, { schema: WRITE_SCHEMA });
}

export function loadYaml(text: string): unknown {
  return load(text, { schema: LOAD_SCHEMA });
}
