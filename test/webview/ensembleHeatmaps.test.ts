/**
 * The soft-label heatmaps of a teacher ensemble, in headless Chromium: a synthetic run whose softlabels.jsonl holds
 * the ensemble's record and one per member (as the engine writes them), read by the host's RunSource. A "Teacher"
 * picker lists the ensemble and each member; the teacher heatmap, the entropy, the row's bars and the difference
 * map follow the chosen one, through the temperature slider and live updates. A single teacher has no picker.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { RunSource } from '../../src/extension/dashboard/runSource';
import { softmaxRow } from '../../src/shared/math';
import type { SoftLabelRecord } from '../../src/shared/records';
import type { DashboardState, HostToWebview, WebviewToHost } from '../../src/shared/webviewProtocol';
import { removeTempDir } from '../support/tempDirs';
import { call, screenshot, startHarness, type DashboardHarness } from './harness';
import { assertColorNear, expectedDifferenceColor, expectedProbabilityColor, meanEntropy } from './heatColors';
import { tempRunsDir, writeRunDir, writeSyntheticRunDir } from './runDirs';
import { rng, syntheticRun } from './synthetic';

type Member = Extract<SoftLabelRecord, { member: number }>;

describe('dashboard: soft-label heatmaps of each teacher of an ensemble', function () {
  this.timeout(120_000);
  let harness: DashboardHarness;
  let runsDir: string;
  let ensembleDir: string;
  let singleDir: string;
  let ensemble: number[][];
  let members: Member[];

  before(async () => {
    harness = await startHarness();
    runsDir = tempRunsDir();
    // A live run (2 of 4 epochs) whose two members differ from each other and from the ensemble: one sharper, one
    // with its probability moved towards another class (seeded noise, so every run of the test sees the same values).
    const run = syntheticRun({ runId: 'ensemble-20260101-000000-abcd', status: 'running', doneEpochs: 2 });
    const r = rng(11);
    ensemble = (run.softLabels[0] as { logits: number[][] }).logits;
    const member = (i: number, f: (z: number, c: number) => number): Member => ({
      kind: 'teacher',
      member: i,
      label: `Teacher ${i + 1} (w ${i ? '0.75' : '0.25'})`,
      name: i ? 'teacher.onnx' : 'cache/teachers/a/model.json',
      logits: ensemble.map((row) => row.map((z, c) => Math.round((f(z, c) + (r() - 0.5) * 0.2) * 1e4) / 1e4)),
    });
    members = [member(0, (z) => 1.6 * z), member(1, (z, c) => (c === 8 ? z + 5 : 0.6 * z))];
    run.softLabels.splice(1, 0, ...members);
    ensembleDir = writeRunDir(path.join(runsDir, run.status.runId), run);
    singleDir = writeSyntheticRunDir(runsDir, { runId: 'single-20260101-000000-abcd' });
  });

  after(async () => {
    await harness?.close();
    removeTempDir(runsDir);
  });

  const openSoftLabels = async (dir: string): Promise<Page> => {
    const page = await harness.open();
    await call(page, 'deliver', { type: 'snapshot', view: 'run', runs: [new RunSource(dir).snapshot()] } satisfies HostToWebview);
    await page.click('button[data-tab="softLabels"]');
    await page.waitForSelector('#heatmap-teacher[data-rows]');
    return page;
  };
  const entropyShown = async (page: Page) => Number(await page.getAttribute('#teacher-entropy', 'data-value'));
  const temperature = async (page: Page, runT: number) => ((await call(page, 'state')) as DashboardState).ui.temperature ?? runT;
  /**
   * The teacher heatmap shows `logits` at T: checked on cells where its colour differs from every other teacher's by
   * more than 6 levels in some channel, three times the ±2 that the colour checks allow for the canvas's 8-bit
   * rounding, so a heatmap of another teacher would fail them.
   */
  const assertTeacherShown = async (page: Page, logits: number[][], others: number[][][], T: number, what: string) => {
    const color = (row: number[], c: number) => expectedProbabilityColor('dark', softmaxRow(row, T)[c]);
    const cells = logits.flatMap((row, k) =>
      row.flatMap((_, c) => (others.every((o) => color(row, c).some((x, i) => Math.abs(x - color(o[k], c)[i]) > 6)) ? [{ k, c }] : [])),
    );
    assert.ok(cells.length >= 3, `${what}: the teachers differ in at least 3 cells at T = ${T}`);
    for (const { k, c } of [cells[0], cells[Math.floor(cells.length / 2)], cells[cells.length - 1]])
      assertColorNear(await call(page, 'cellPixel', '#heatmap-teacher', k, c), color(logits[k], c), `${what}: cell (${k}, ${c})`);
    // The page softmaxes in float32 (relative error ~1e-7 per probability), far inside 1e-4 nats of mean entropy.
    assert.ok(
      Math.abs((await entropyShown(page)) - meanEntropy(logits, T)) < 1e-4,
      `${what}: entropy ${await entropyShown(page)} vs ${meanEntropy(logits, T)}`,
    );
  };

  it('lists the ensemble and each teacher; the heatmap, entropy, bars and difference follow the chosen one', async () => {
    const page = await openSoftLabels(ensembleDir);
    const kd = new RunSource(ensembleDir).snapshot().steps.find((s) => s.student === 'kd')!;
    const runT = kd.temperature[kd.temperature.length - 1];
    assert.ok(await page.isVisible('#soft-teacher'));
    assert.deepEqual(
      await page.$$eval('#soft-teacher option', (os) => os.map((o) => [o.getAttribute('value') ?? '', o.textContent ?? '', o.getAttribute('title') ?? ''])),
      [
        ['ensemble', 'Ensemble', 'The teachers combined, as the students learn from them'],
        ['0', 'Teacher 1 (w 0.25)', 'cache/teachers/a/model.json'],
        ['1', 'Teacher 2 (w 0.75)', 'teacher.onnx'],
      ],
    );
    assert.equal(await page.inputValue('#soft-teacher'), 'ensemble');
    const [m0, m1] = members.map((m) => m.logits);
    await assertTeacherShown(page, ensemble, [m0, m1], runT, 'ensemble');
    assert.match((await page.getAttribute('#heatmap-teacher', 'aria-label'))!, /^Ensemble probabilities at T = /);

    // From the keyboard: focus the picker, ↓ moves to the first teacher (Chromium on Linux changes a closed select's value).
    await page.focus('#soft-teacher');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.inputValue('#soft-teacher'), '0');
    assert.equal(((await call(page, 'state')) as DashboardState).ui.teacher, 0);
    await assertTeacherShown(page, m0, [ensemble, m1], runT, 'teacher 1');
    assert.match((await page.getAttribute('#heatmap-teacher', 'aria-label'))!, /^Teacher 1 \(w 0\.25\) probabilities at T = /);
    assert.equal(await page.textContent('.heatmap figcaption >> nth=1'), 'Teacher 1 (w 0.25) p_t at T');
    assert.match((await page.textContent('#row-caption'))!, /: Teacher 1 \(w 0\.25\) \d/);
    // The difference map is the student's last epoch minus this teacher, on the cell of row 0 where they differ most.
    const student = new RunSource(ensembleDir)
      .snapshot()
      .softLabels.filter((r) => r.kind === 'student' && r.student === 'kd')
      .pop()!.logits;
    const ps = Array.from(softmaxRow(student[0], runT));
    const pt = Array.from(softmaxRow(m0[0], runT));
    const d = ps.map((v, c) => v - pt[c]);
    const col = d.map(Math.abs).indexOf(Math.max(...d.map(Math.abs)));
    assertColorNear(
      await call(page, 'cellPixel', '#heatmap-diff', 0, col),
      expectedDifferenceColor('dark', d[col]),
      `difference cell (0, ${col}) = ${d[col].toFixed(3)}`,
    );

    // The choice holds through the temperature slider and a live update (the run's third epoch arrives).
    await call(page, 'setRange', '#temperature', 900);
    const high = await temperature(page, runT);
    assert.ok(high > 8, `slider at 900/1000 gives T = ${high}`);
    await assertTeacherShown(page, m0, [ensemble, m1], high, 'teacher 1 at high T');
    const epoch3: SoftLabelRecord = { kind: 'student', student: 'kd', epoch: 3, logits: student };
    await call(page, 'deliver', { type: 'delta', deltas: [{ runDir: ensembleDir, softLabels: [epoch3] }] } satisfies HostToWebview);
    await page.waitForFunction(`document.querySelector('#epoch-label')?.textContent === '3 of 3'`);
    assert.equal(await page.inputValue('#soft-teacher'), '0');
    await assertTeacherShown(page, m0, [ensemble, m1], high, 'teacher 1 after a live update');
    await call(page, 'setRange', '#temperature', 0);
    await page.click('button:has-text("Run’s T")');

    await page.selectOption('#soft-teacher', '1');
    await assertTeacherShown(page, m1, [ensemble, m0], runT, 'teacher 2');
    await screenshot(page, 'soft-labels-ensemble-teacher-2');
    await page.selectOption('#soft-teacher', 'ensemble');
    assert.equal(((await call(page, 'state')) as DashboardState).ui.teacher, undefined);
    await assertTeacherShown(page, ensemble, [m0, m1], runT, 'ensemble again');
    assert.deepEqual(await call(page, 'cspViolations'), []);
    assert.deepEqual(await call(page, 'errors'), []);
    assert.deepEqual(
      ((await call(page, 'posted')) as WebviewToHost[]).filter((m) => m.type === 'error'),
      [],
    );
    await page.close();
  });

  it('has no picker for a single teacher, and its heatmap is captioned as before', async () => {
    const page = await openSoftLabels(singleDir);
    assert.equal(await page.isVisible('#soft-teacher'), false);
    assert.equal(await page.$$eval('#soft-teacher option', (os) => os.length), 0);
    assert.equal(await page.textContent('.heatmap figcaption >> nth=1'), 'Teacher p_t at T');
    assert.match((await page.getAttribute('#heatmap-teacher', 'aria-label'))!, /^Teacher probabilities at T = /);
    assert.deepEqual(await call(page, 'errors'), []);
    await page.close();
  });
});
