/**
 * The feature-distillation chart in headless Chromium: the real run fixture's KD step records with a `feature` term
 * added (as the engine writes it with distillation.features) get a "Feature term" chart with the KD student's line
 * only; the fixture itself (no features) has no such chart.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunSource } from '../../src/extension/dashboard/runSource';
import type { MetricsRecord } from '../../src/shared/records';
import { readJsonLines, RUN_FILES } from '../../src/shared/runDir';
import type { HostToWebview } from '../../src/shared/webviewProtocol';
import { removeTempDir } from '../support/tempDirs';
import { call, screenshot, startHarness, type DashboardHarness } from './harness';
import { copyRealRun, tempRunsDir } from './runDirs';

describe('dashboard: the feature term of feature distillation', function () {
  this.timeout(120_000);
  let harness: DashboardHarness;
  let runsDir: string;
  let plainDir: string;
  let featureDir: string;

  before(async () => {
    harness = await startHarness();
    runsDir = tempRunsDir();
    plainDir = copyRealRun(runsDir);
    featureDir = copyRealRun(runsDir, 'with-features');
    const file = path.join(featureDir, RUN_FILES.metrics);
    const records = readJsonLines<MetricsRecord>(file).map((r, i) =>
      r.kind === 'step' && r.student === 'kd' ? { ...r, feature: 2 / (1 + i / 50), featureParts: [1 / (1 + i / 50), 0.002 / (1 + i / 50)] } : r,
    );
    fs.writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  });

  after(async () => {
    await harness?.close();
    removeTempDir(runsDir);
  });

  const open = async (dir: string) => {
    const page = await harness.open();
    await call(page, 'deliver', { type: 'snapshot', view: 'run', runs: [new RunSource(dir).snapshot()] } satisfies HostToWebview);
    await page.waitForSelector('[data-chart="loss"] .uplot');
    return page;
  };

  it('plots the feature term for the KD student, and leaves the chart out of a run without features', async () => {
    const page = await open(featureDir);
    await page.waitForSelector('[data-chart="feature"] .uplot');
    // x plus the KD student's line: the scratch baseline has no feature term.
    assert.equal(await page.locator('[data-chart="feature"] .u-legend .u-series').count(), 2);
    const texts = (await call(page, 'textsDrawn', '[data-chart="feature"]')) as string[];
    assert.ok(texts.includes('step') && texts.includes('loss'), texts.join(' | '));
    await screenshot(page, 'curves-feature');
    assert.deepEqual(await call(page, 'errors'), []);
    await page.close();
    const plain = await open(plainDir);
    assert.equal(await plain.locator('[data-chart="feature"]').count(), 0);
    await plain.close();
  });
});
