// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      // Linted by the config it scaffolds, in a DAG repository (test/pack-init.test.ts type-checks it there).
      'templates/**',
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
  // The one-way doors between rooms (runner/ARCHITECTURE.md). Flat config replaces a rule's options
  // per file rather than merging them, so each room lists the operators rule again.
  ...rooms(),
);

function rooms() {
  const notOperators = {
    group: ['**/operators/**', 'runway/operators'],
    message: 'runner/ must not import from operators/: operators build on the runner, never the other way round',
  };
  const ioModules = [
    'node:fs',
    'node:fs/*',
    'node:net',
    'node:http',
    'node:https',
    'node:child_process',
    'node:worker_threads',
    'fs',
    'fs/*',
    'child_process',
    'ioredis',
    'bullmq',
    'prom-client',
    '@aws-sdk/*',
    's3rver',
    'esbuild',
  ];
  const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
  return [
    { files: ['runner/**/*.ts'], rules: restrict([notOperators]) },
    {
      // core/ is pure: decisions about graphs, schedules, retries and rules, unit-tested without Redis,
      // AWS or files. AWS types are allowed (the task context names its clients); values are not.
      files: ['runner/core/**/*.ts'],
      rules: restrict([
        notOperators,
        {
          group: ioModules,
          allowTypeImports: true,
          message: 'runner/core/ is pure: do the I/O in state/, services/, loader/ or aws/ and pass the result in',
        },
        {
          group: ['../*/**', '!../core/**'],
          allowTypeImports: false,
          message: 'runner/core/ imports only from core/: the other rooms build on it',
        },
      ]),
    },
    {
      // state/ turns decisions into Redis changes; the services drive it, never the other way round.
      files: ['runner/state/**/*.ts'],
      rules: restrict([
        notOperators,
        {
          group: ['../services/**', '../cli/**', '../web/**'],
          message: 'runner/state/ must not import services/, cli/ or web/: they build on the state, not the reverse',
        },
      ]),
    },
  ];
}
