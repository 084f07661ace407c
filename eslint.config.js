import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'migrations', 'data', 'coverage', 'test-results', '.scratch'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through src/config.ts.' }],
    },
  },
  {
    // Entry points hand process.env to loadConfig; nothing else reads it.
    files: ['src/server.ts', 'src/db/migrate-cli.ts', 'src/ofauth/simulator/main.ts', 'drizzle.*.config.ts', 'bench/**', 'test/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // The dashboard's browser scripts: served as they are, no build step.
    files: ['src/dashboard/assets/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', HTMLFormElement: 'readonly', Intl: 'readonly', uPlot: 'readonly' },
    },
  },
  {
    // Tests read untyped JSON responses; `any` there is the honest type.
    files: ['test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
