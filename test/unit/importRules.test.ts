/**
 * The import nevers of docs/architecture.md, as `npm run lint` enforces them (eslint.config.mjs): a breach planted in
 * each room fails the lint, and the same imports where they are allowed pass. The planted files exist only as text
 * handed to ESLint; nothing is written.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const ROOT = path.join(__dirname, '..', '..');

/** The project's config, without the type-aware rules: the planted files are in no tsconfig. */
const eslint = new ESLint({ cwd: ROOT, overrideConfig: [{ files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked }] });

async function refused(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport {};\n`, { filePath: path.join(ROOT, file) });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('import rules (eslint.config.mjs)', function () {
  this.timeout(60_000);

  const breaches: [string, string, RegExp][] = [
    ['src/shared/planted.ts', "import '../engine/engine';", /shared\/ imports nothing of ours/],
    ['src/shared/planted.ts', "import '../extension/runText';", /shared\/ imports nothing of ours/],
    ['src/shared/planted.ts', "import * as tf from '@tensorflow/tfjs-core'; void tf;", /tfjs loads only in the engine/],
    ['src/engine/planted.ts', "import * as vscode from 'vscode'; void vscode;", /only src\/extension\/ may import vscode/],
    ['src/engine/planted.ts', "import '../extension/runText';", /the engine never imports the extension/],
    ['src/engine/kd/planted.ts', "import '../../webview/dom';", /the engine never imports the webview/],
    ['src/extension/planted.ts', "import * as tf from '@tensorflow/tfjs-core'; void tf;", /tfjs loads only in the engine/],
    [
      'src/extension/commands/planted.ts',
      "import { selectBackend } from '../../engine/backends/ladder'; void selectBackend;",
      /the extension never loads the engine/,
    ],
    ['src/webview/planted.ts', "import '../engine/kd/losses';", /the webview never imports the engine/],
    ['src/webview/planted.ts', "import '../extension/runText';", /the webview never imports the extension/],
    ['src/webview/tabs/planted.ts', "import '../../engine/kd/losses';", /the webview never imports the engine/],
    ['src/webview/charts/planted.ts', "import '../../extension/runText';", /the webview never imports the extension/],
    ['src/webview/charts/planted.ts', "import '../tabs/curvesTab';", /a chart never imports a tab/],
    ['src/install/planted.ts', "import '@tensorflow/tfjs-core/dist/version';", /tfjs loads only in the engine/],
  ];
  for (const [file, source, why] of breaches) {
    it(`refuses ${source.split(';')[0]} in ${path.dirname(file)}/`, async () => {
      const messages = await refused(file, source);
      assert.equal(messages.length, 1, `expected one refusal, got ${JSON.stringify(messages)}`);
      assert.match(messages[0], why);
    });
  }

  it('allows the same imports where they belong', async () => {
    assert.deepEqual(await refused('src/engine/planted.ts', "import * as tf from '@tensorflow/tfjs-core'; import '../shared/config'; void tf;"), []);
    assert.deepEqual(
      await refused('src/extension/planted.ts', "import * as vscode from 'vscode'; import '../shared/protocol'; import '../install/targets'; void vscode;"),
      [],
    );
    assert.deepEqual(await refused('src/webview/planted.ts', "import '../shared/format';"), []);
    assert.deepEqual(await refused('src/webview/tabs/planted.ts', "import '../charts/curves'; import '../store'; import '../../shared/format';"), []);
    assert.deepEqual(await refused('src/webview/charts/planted.ts', "import './theme'; import '../dom'; import '../../shared/format';"), []);
    assert.deepEqual(await refused('src/shared/planted.ts', "import './format'; import { Type } from '@sinclair/typebox'; void Type;"), []);
  });
});
