// The linter: typescript-eslint's recommended rules, and the layers as import rules (README, Development).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const vscodeOnly = ['vscode', 'vscode-languageclient', 'vscode-languageclient/*'];
const lsp = ['vscode-languageserver', 'vscode-languageserver/*', 'vscode-languageserver-textdocument', 'vscode-jsonrpc', 'vscode-jsonrpc/*'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.bench/**', 'test/fixtures/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // control characters are what the printable-text escaper and the mail and diff readers look for
      'no-control-regex': 'off',
    },
  },
  {
    // the engine is pure: no editor, no protocol
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [], patterns: [{ group: [...vscodeOnly, ...lsp], message: 'src/core is the engine: it imports no vscode and no LSP (README, Development)' }] }],
    },
  },
  {
    files: ['src/server/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: vscodeOnly, message: 'the language server runs outside VS Code: no vscode imports' }] }] },
  },
  {
    files: ['src/client/**/*.ts', 'src/extension.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['../server/*', './server/*'], message: 'the client talks to the server over LSP, never by import' }] }] },
  },
  {
    files: ['scripts/**/*.mjs', 'esbuild.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', performance: 'readonly', URL: 'readonly' } },
  },
);
