// Bundles the VS Code integration suite into out/vscode-test/: the launcher (runTest.js), the mocha entry that VS
// Code's extension host loads (suite/index.js) and each suite file. `vscode`, mocha and @vscode/test-electron stay
// external: the extension host provides `vscode`, and the others resolve from node_modules.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const suites = fs
  .readdirSync(path.join(here, 'suite'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(here, 'suite', f));
await esbuild.build({
  entryPoints: [path.join(here, 'runTest.ts'), ...suites],
  outbase: here,
  outdir: path.join(here, '..', '..', 'out', 'vscode-test'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  mainFields: ['module', 'main'],
  sourcemap: true,
  external: ['vscode', 'mocha', '@vscode/test-electron'],
  logLevel: 'warning',
});
