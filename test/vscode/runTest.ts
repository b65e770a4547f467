/**
 * Launches the integration suite in a real VS Code through @vscode/test-electron (`npm run test:vscode`). It needs
 * to download VS Code, which these build machines cannot; there, load `suite/index.js` from inside a running VS Code
 * extension host instead (see test/e2e). The extension under test is this checkout, built into dist/.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The one function used from @vscode/test-electron (a dev dependency resolved at run time). */
interface TestElectron {
  runTests(options: {
    extensionDevelopmentPath: string;
    extensionTestsPath: string;
    launchArgs?: string[];
    extensionTestsEnv?: Record<string, string>;
  }): Promise<number>;
}

async function main(): Promise<void> {
  let testElectron: TestElectron;
  try {
    testElectron = require('@vscode/test-electron') as TestElectron;
  } catch {
    console.error('npm run test:vscode needs @vscode/test-electron: npm install --save-dev @vscode/test-electron');
    process.exit(2);
  }
  const root = path.resolve(__dirname, '..', '..');
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-vscode-ws-'));
  try {
    await testElectron.runTests({
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(__dirname, 'suite', 'index.js'),
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
    });
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
