// ESLint flat config: typescript-eslint's type-aware rules over the library, the apps, the tests and the bench.
// Formatting is Prettier's job, so no stylistic rule is enabled here (what eslint-config-prettier would switch off).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', '**/*.js', '**/*.mjs', '**/*.cjs'],
  },
  {
    files: ['libs/nestjs-celery/src/**/*.ts', 'apps/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    // ESLint's own recommended set lives in @eslint/js, which is not installed; typescript-eslint's set covers the TS code.
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The rules this config exists for: a dropped promise in a message system loses errors and acks.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // `async` without `await` is deliberate here: it implements a Promise-returning contract (Broker,
      // ResultBackend, Nest hooks) and turns a synchronous throw into a rejection the caller handles.
      '@typescript-eslint/require-await': 'off',
      // retry(exc) re-raises whatever the task handed it, as Celery does; the parsers throw private
      // sentinel objects (no stack capture) that their own catch turns into a problem string.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true, allow: [{ from: 'file', name: ['Unreadable', 'OverBound'] }] }],
      // Forwarding a caught `unknown` to reject() passes on what was thrown, as rethrowing would.
      // (AbortSignal.reason is typed any: rejecting with it is the abort protocol.)
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true, allowThrowingAny: true }],
      // `_`-prefixed names are the convention for a parameter a signature requires but the body ignores.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: {
      // expect(mock.method).toHaveBeenCalled() passes a method unbound by design.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
