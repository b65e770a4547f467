/**
 * The mocha entry VS Code's extension host calls (`extensionTestsPath`): runs every `*.test.js` beside it. Also
 * usable from any extension host that can `require` it and call `run()` (e.g. inside code-server, where the host's
 * stdout is not visible: set DISTILL_VSCODE_TEST_LOG to a file to get each result written there too).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: true, timeout: 300_000 });
  for (const file of fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js'))) mocha.addFile(path.join(__dirname, file));
  const logFile = process.env.DISTILL_VSCODE_TEST_LOG;
  const log = (line: string) => logFile && fs.appendFileSync(logFile, line + '\n');
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      log(`${failures ? 'FAILED' : 'PASSED'}: ${runner.stats?.passes ?? 0} passing, ${failures} failing, ${runner.stats?.pending ?? 0} pending`);
      if (failures) reject(new Error(`${failures} Distill integration test(s) failed`));
      else resolve();
    });
    runner.on('pass', (t) => log(`  ok   ${t.fullTitle()}`));
    runner.on('pending', (t) => log(`  skip ${t.fullTitle()}`));
    runner.on('fail', (t, err: Error) => log(`  FAIL ${t.fullTitle()}\n${err.stack ?? err.message}`));
  });
}
