// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'test/fixtures/import-errors/**',
      'test/fixtures/hostile-dags/**',
      'bench/out/**',
      '.runway/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Operators build on the runner, never the other way round: the runner stays usable (and
    // testable) without any AWS operator.
    files: ['runner/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/operators/**', 'runway/operators'], message: 'runner/ must not import from operators/' },
          ],
        },
      ],
    },
  },
);
