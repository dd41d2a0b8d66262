// ESLint flat config: the recommended JavaScript and type-aware TypeScript rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The folders of the domain, above adapters: what the lowest layers must never import. */
const domain = [
  'run',
  'session',
  'restore',
  'verify',
  'daemon',
  'policy',
  'history',
  'drive-content',
  'notify',
  'install',
  'restore-kit',
  'metrics',
];
const lowest = ['model', 'layout', 'files'];

// The layers of src/ (docs/development.md): cli on top; run, restore, verify, daemon use
// session; policy, history, drive-content are logic and data; adapters talk to the world;
// model, layout, files and the top-level modules (errors, format, exit codes) are under all.
// (A later block replaces an earlier one's rule for the same file: each lists all it forbids.)
export const layerConfig = layers({
  'src/*.ts': { forbid: [...domain, ...lowest, 'adapters', 'cli', 'log'] },
  'src/cli/**/*.ts': { forbid: ['run/steps'] },
  'src/{run,restore,verify,daemon,notify,install,restore-kit}/**/*.ts': { forbid: ['cli'] },
  'src/{restore,verify,notify,install,restore-kit}/**/*.ts': { forbid: ['cli', 'run', 'daemon'] },
  // metrics/ is read from the history and written by runs and the daemon: logic and a file.
  'src/metrics/**/*.ts': { forbid: ['cli', 'run', 'daemon', 'adapters', 'session'] },
  'src/session/**/*.ts': {
    forbid: ['cli', 'run', 'restore', 'verify', 'daemon', 'install', 'restore-kit'],
  },
  'src/config/**/*.ts': { forbid: ['cli', ...domain] },
  'src/adapters/**/*.ts': { forbid: ['cli', ...domain, 'config'] },
  'src/{policy,history,drive-content}/**/*.ts': {
    forbid: [
      'cli',
      'adapters',
      'run',
      'session',
      'restore',
      'verify',
      'daemon',
      'notify',
      'install',
      'restore-kit',
      'metrics',
    ],
  },
  'src/{model,layout,files,log}/**/*.ts': {
    forbid: ['cli', 'adapters', 'config', ...domain],
  },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test runs these itself; awaiting them is not how suites are written.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/only-throw-error': 'error',
    },
  },
  {
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  ...layerConfig,
);

/**
 * One `no-restricted-imports` block per folder: an import of a forbidden folder of src/ (by a
 * relative path, however many `../` it takes) fails lint, naming the rule it breaks.
 */
function layers(rules) {
  return Object.entries(rules).map(([files, { except = [], forbid }]) => ({
    files: [files],
    ignores: except,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbid.map((folder) => ({
            regex: `^(\\./|(\\.\\./)+)${folder}/`,
            message: `${files.replace('/**/*.ts', '/').replace('/*.ts', '/')} must not import ${folder}/: see the layers in docs/development.md.`,
          })),
        },
      ],
    },
  }));
}
