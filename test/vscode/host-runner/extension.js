// Test-only extension. When the extension host's environment names the built suite (DISTILL_VSCODE_SUITE =
// <repo>/out/vscode-test/suite/index.js, from `node test/vscode/build.mjs`), it runs it once after startup and
// writes each result, then a final "PASSED:"/"FAILED:" line, to DISTILL_VSCODE_TEST_LOG. Package it with
// `npx vsce package --allow-missing-repository --skip-license` in this folder, install it beside distill.vsix, and
// start code-server with both variables set; the e2e driver then waits for the final line.
const fs = require('fs');

exports.activate = function () {
  const suite = process.env.DISTILL_VSCODE_SUITE;
  const log = process.env.DISTILL_VSCODE_TEST_LOG;
  if (!suite || !log) return;
  try {
    require(suite)
      .run()
      .catch(() => undefined); // The suite has written its failures to the log.
  } catch (e) {
    fs.appendFileSync(log, `FAILED: could not load ${suite}: ${e && e.stack}\n`);
  }
};
