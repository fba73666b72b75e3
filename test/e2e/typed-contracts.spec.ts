/**
 * Typed task contracts at compile time: compiles typed-contracts.types.ts with the project's
 * compiler options. Each `@ts-expect-error` there marks a call that must not compile (TypeScript
 * reports an unused directive as error TS2578), every other line must compile.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const file = join(here, 'typed-contracts.types.ts');

function compile(): readonly ts.Diagnostic[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (!config) throw new Error('tsconfig.json could not be read');
  const program = ts.createProgram([file], { ...config.options, noEmit: true });
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file));
}

describe('typed task contracts (compile time)', () => {
  test('wrong args, kwargs and result types are compile errors; right ones compile', () => {
    const expected = readFileSync(file, 'utf8').match(/^\s*\/\/ @ts-expect-error/gm)?.length ?? 0;
    expect(expected).toBeGreaterThanOrEqual(20);
    const messages = compile().map(
      (d) => `${d.start !== undefined ? d.file?.getLineAndCharacterOfPosition(d.start).line : '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    );
    expect(messages).toEqual([]);
  }, 60_000);
});
