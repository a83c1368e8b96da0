// Lint for the whole repository: TypeScript-aware recommended rules everywhere, and n8n's
// community-node rules on the node package (nodes/, credentials/). The "without n8n Cloud"
// set is the one that fits: the Talos node needs a gRPC runtime dependency and Node's
// crypto/TLS modules, which n8n Cloud's restrictions forbid (see README, "Lint").
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { configs as n8nCommunity } from '@n8n/eslint-plugin-community-nodes';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', fetch: 'readonly', Buffer: 'readonly', Headers: 'readonly', structuredClone: 'readonly', AbortController: 'readonly', TextEncoder: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['nodes/**/*.ts', 'credentials/**/*.ts'],
    ...n8nCommunity.recommendedWithoutN8nCloudSupport,
  },
  {
    files: ['gulpfile.js', 'index.js'],
    languageOptions: { sourceType: 'commonjs', globals: { exports: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
