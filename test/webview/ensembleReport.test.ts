/**
 * The report card of a run with a list of teachers, in headless Chromium: the real run fixture's summary.json with
 * two member teachers added (`teachers`, as the engine writes them): the ensemble and each teacher get a column, in
 * config order, with their weights and accuracies, and the best student value is still picked among students only.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunSource } from '../../src/extension/dashboard/runSource';
import type { Summary } from '../../src/shared/records';
import { RUN_FILES } from '../../src/shared/runDir';
import type { HostToWebview, WebviewToHost } from '../../src/shared/webviewProtocol';
import { removeTempDir } from '../support/tempDirs';
import { call, screenshot, startHarness, type DashboardHarness } from './harness';
import { copyRealRun, tempRunsDir } from './runDirs';

describe('dashboard: the report card of a teacher ensemble', function () {
  this.timeout(120_000);
  let harness: DashboardHarness;
  let runsDir: string;
  let runDir: string;
  let summary: Summary;

  before(async () => {
    harness = await startHarness();
    runsDir = tempRunsDir();
    runDir = copyRealRun(runsDir);
    summary = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.summary), 'utf8')) as Summary;
    const t = summary.teacher;
    // Two members a little worse than their ensemble, one of them more accurate than every student: its value must
    // not be bolded as "best student".
    summary.teachers = [
      { ...t, name: 'preset mlp (cache/teachers/a/model.json)', weight: 0.25, accuracy: t.accuracy - 0.0123, agreement: 0.9, klToTeacher: 0.05 },
      { ...t, name: 'teacher.onnx', weight: 0.75, accuracy: t.accuracy - 0.0045, agreement: 0.95, klToTeacher: 0.02 },
    ];
    summary.ensemble = { mode: 'probabilities', temperature: 4 };
    fs.writeFileSync(path.join(runDir, RUN_FILES.summary), JSON.stringify(summary));
  });

  after(async () => {
    await harness?.close();
    removeTempDir(runsDir);
  });

  it('has a column for the ensemble and one per teacher, with weights, accuracies and each teacher\u2019s name on hover', async () => {
    const page = await harness.open();
    await call(page, 'deliver', { type: 'snapshot', view: 'run', runs: [new RunSource(runDir).snapshot()] } satisfies HostToWebview);
    await page.click('button[data-tab="report"]');
    await page.waitForSelector('table.report');
    const heads = await page.$$eval('table.report thead th', (ths) => ths.map((th) => [th.textContent ?? '', th.getAttribute('title') ?? '']));
    assert.deepEqual(
      heads.map((h) => h[0]),
      ['', 'Teacher ensemble', 'Teacher 1 (w 0.25)', 'Teacher 2 (w 0.75)', 'Scratch student', 'KD student'],
    );
    assert.match(heads[2][1], /^preset mlp \(cache\/teachers\/a\/model\.json\)\. KL to teacher and agreement: to the ensemble\.$/);
    const accuracyRow = await page.$$eval('table.report tbody tr:first-child td', (tds) => tds.map((td) => [td.textContent ?? '', td.className]));
    const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
    assert.deepEqual(
      accuracyRow.map((c) => c[0]),
      [summary.teacher, ...summary.teachers!, summary.baseline!, summary.student].map((m) => pct(m.accuracy)),
    );
    // Bold marks the best student; the teachers' columns are never bolded.
    assert.deepEqual(
      accuracyRow.slice(0, 3).map((c) => c[1]),
      ['', '', ''],
    );
    await screenshot(page, 'report-ensemble');
    assert.deepEqual(await call(page, 'cspViolations'), []);
    assert.deepEqual(await call(page, 'errors'), []);
    assert.deepEqual(
      ((await call(page, 'posted')) as WebviewToHost[]).filter((m) => m.type === 'error'),
      [],
    );
    await page.close();
  });
});
