// ESLint (typescript-eslint, type-aware): `npm run lint`, part of `npm test`, zero warnings allowed.
// The import rules below are the architecture's "never" list (docs/architecture.md); test/unit/importRules.test.ts
// plants a breach in each room and checks that the lint fails.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A `no-restricted-imports` entry: imports whose path matches `regex` are refused, with `message` saying why. */
const never = (regex, message) => ({ regex, message });
const VSCODE = never('^vscode$', 'only src/extension/ may import vscode.');
const TFJS = never('^@tensorflow/', 'tfjs loads only in the engine (a child process), never here.');
const OURS_OUTSIDE_SHARED = never('^\\.\\./', 'src/shared/ imports nothing of ours outside shared/.');
const room = (name, why) => never(`(^|/)${name}(/|$)`, why);

const WEBVIEW = [
  VSCODE,
  TFJS,
  room('engine', 'the webview never imports the engine.'),
  room('extension', 'the webview never imports the extension; messages go through src/shared/webviewProtocol.ts.'),
  room('install', 'not the installers.'),
];

const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'test/webview/fixtures/**', 'test/vscode/host-runner/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Numbers, booleans, arrays and nullish values print well enough in messages; objects and unknowns do not.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowArray: true, allowNullish: true, allowRegExp: true },
      ],
      // JSON off disk and out of jsonc-parser, ajv's error params and tfjs' kernel API are untyped; they are checked by
      // hand or by ajv where they enter, so the no-unsafe-* family would only ask for casts. The other type-aware rules
      // (floating and misused promises, awaits of non-thenables, base-to-string) stay on.
      // A `let` that a callback reads before its one assignment (a process handle its own events refer to) stays a let.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // Its check that a generic call's type argument "may be inferred from the assertion" flags every `tf.tidy(…) as T`.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Several functions are async for their interface (callers await a promise) without awaiting anything yet.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // Tests print typed arrays and shapes in messages, pass methods of page objects around, and require() fixtures.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  // The import nevers, room by room.
  { files: ['src/shared/**/*.ts'], rules: restrict(OURS_OUTSIDE_SHARED, VSCODE, TFJS) },
  {
    files: ['src/engine/**/*.ts'],
    rules: restrict(VSCODE, room('extension', 'the engine never imports the extension.'), room('webview', 'the engine never imports the webview.')),
  },
  {
    files: ['src/install/**/*.ts', 'src/sweep/**/*.ts'],
    rules: restrict(
      VSCODE,
      TFJS,
      room('engine', 'installers and the sweep coordinator stay tfjs-free: run the engine as a process instead.'),
      room('extension', 'not the extension.'),
      room('webview', 'not the webview.'),
    ),
  },
  {
    files: ['src/extension/**/*.ts'],
    rules: restrict(
      TFJS,
      room('engine', 'the extension never loads the engine: fork dist/engine.js and talk through src/shared/protocol.ts.'),
      room('webview', 'the extension talks to the webview through src/shared/webviewProtocol.ts.'),
    ),
  },
  { files: ['src/webview/**/*.ts'], rules: restrict(...WEBVIEW) },
  // Inside the webview: tabs/ (one file per dashboard tab) draw with charts/; a chart helper never imports a tab.
  // (A later entry replaces the rule's options rather than adding to them, hence the webview's list again.)
  {
    files: ['src/webview/charts/**/*.ts'],
    rules: restrict(...WEBVIEW, room('tabs', 'charts/ are drawing helpers the tabs use; a chart never imports a tab.')),
  },
);
