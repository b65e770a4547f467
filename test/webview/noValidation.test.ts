/** The dashboard for a run with `data.validationSplit: 0`: it says there is no validation curve, and draws no empty chart. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunSource } from '../../src/extension/dashboard/runSource';
import type { MetricsRecord } from '../../src/shared/records';
import { RUN_FILES } from '../../src/shared/runDir';
import type { HostToWebview } from '../../src/shared/webviewProtocol';
import { call, startHarness, type DashboardHarness } from './harness';
import { tempRunsDir, writeSyntheticRunDir } from './runDirs';

describe('dashboard webview: a run without validation rows', function () {
  this.timeout(60_000);
  let harness: DashboardHarness;

  before(async () => {
    harness = await startHarness();
  });
  after(async () => {
    await harness?.close();
  });

  it('says there is no validation curve instead of drawing empty charts, and keeps the train curves', async () => {
    const dir = writeSyntheticRunDir(tempRunsDir(), { runId: 'no-val', epochs: 3 });
    // What the engine writes with validationSplit 0: epoch records without `val`.
    const file = path.join(dir, RUN_FILES.metrics);
    const records = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as MetricsRecord);
    fs.writeFileSync(file, records.map((r) => JSON.stringify(r.kind === 'epoch' ? { ...r, val: undefined } : r)).join('\n') + '\n');
    const page = await harness.open();
    const message: HostToWebview = { type: 'snapshot', view: 'run', runs: [new RunSource(dir).snapshot()] };
    await call(page, 'deliver', message);
    await page.waitForSelector('[data-chart="train-loss"] .uplot');
    const note = (await page.textContent('[data-section="epochs"] .no-validation')) ?? '';
    assert.match(note, /No validation curves: this run holds out no validation rows \(data\.validationSplit is 0\)/);
    for (const chart of ['kl-to-teacher', 'agreement', 'macro-f1'])
      assert.equal(await page.locator(`[data-chart="${chart}"]`).count(), 0, `${chart} is not drawn`);
    // The accuracy chart keeps its train line only: x plus one series per student.
    const students = new Set(records.map((r) => r.student)).size;
    assert.equal(await page.locator('[data-chart="epoch-accuracy"] .u-legend .u-series').count(), 1 + students);
    await page.close();
  });
});
