/**
 * The dashboard webview in a real browser (Debian's chromium via playwright-core), fed by the same host code the
 * extension uses (RunSource, DeltaBatcher) reading a real engine run (fixtures/real-small-run: 2 epochs of a
 * Fashion-MNIST KD student and its scratch baseline) and synthetic runs. Asserts on what is rendered: uPlot series
 * and axis labels, heatmap pixels at known probabilities, entropy under the temperature slider, the theme switch.
 * Screenshots go to test-artifacts/webview/.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { DeltaBatcher } from '../../src/extension/dashboard/deltaBatcher';
import { listSiblingRuns, RunSource } from '../../src/extension/dashboard/runSource';
import { softmaxRow } from '../../src/shared/math';
import type { DistillConfig } from '../../src/shared/config';
import type { MetricsRecord, SoftLabelRecord, StatusFile, Summary } from '../../src/shared/records';
import { readJsonLines, RUN_FILES } from '../../src/shared/runDir';
import type { DashboardState, HostToWebview, WebviewToHost } from '../../src/shared/webviewProtocol';
import { call, screenshot, startHarness, type DashboardHarness } from './harness';
import { assertColorNear, expectedDifferenceColor, expectedProbabilityColor, meanEntropy } from './heatColors';
import { THEME_VARIABLES, type ThemeName } from './page/api';
import { copyRealRun, REAL_RUN_FIXTURE, tempRunsDir, writeSyntheticRunDir } from './runDirs';

const seriesCount = (page: Page, chart: string) => page.locator(`[data-chart="${chart}"] .u-legend .u-series`).count();
const teacherLogits = (dir: string) => readJsonLines<SoftLabelRecord>(path.join(dir, RUN_FILES.softLabels)).find((r) => r.kind === 'teacher')!.logits;

async function assertClean(page: Page): Promise<void> {
  assert.deepEqual(await call(page, 'cspViolations'), [], 'Content-Security-Policy violations');
  assert.deepEqual(await call(page, 'errors'), [], 'uncaught errors in the page');
  const reported = ((await call(page, 'posted')) as WebviewToHost[]).filter((m) => m.type === 'error');
  assert.deepEqual(reported, [], 'errors the webview reported to the host');
}

/**
 * The schedule chart of the real run (constant T and α): α, dashed in its own colour (charts-purple), sits where its
 * value falls on the right-hand axis's fixed 0–1 range, and T (charts-blue) on its own rows. Two flat lines on two
 * auto-fitted scales would land on the same pixels, and α in the student's colour would vanish under T.
 */
async function assertScheduleDrawn(page: Page, theme: ThemeName): Promise<void> {
  const config = JSON.parse(fs.readFileSync(path.join(REAL_RUN_FIXTURE, RUN_FILES.config), 'utf8')) as DistillConfig;
  const alpha = config.distillation.alpha;
  const canvas = '[data-chart="schedule"] canvas';
  const frame = (await page.locator(canvas).boundingBox())!;
  const plot = (await page.locator('[data-chart="schedule"] .u-over').boundingBox())!;
  // A stretch in the middle of the plot, wide enough to hold whole dashes of the α line.
  const x0 = plot.x - frame.x + plot.width * 0.4;
  const rows = (color: string) => call(page, 'rowsWithColor', canvas, x0, x0 + 40, THEME_VARIABLES[theme][color]);
  const alphaRows = await rows('--vscode-charts-purple');
  const tRows = await rows('--vscode-charts-blue');
  const alphaAt = plot.y - frame.y + (1 - alpha) * plot.height;
  assert.ok(alphaRows.length > 0, 'the α line is drawn in its own colour');
  assert.ok(
    alphaRows.every((y) => Math.abs(y - alphaAt) <= 2),
    `α = ${alpha} on a 0–1 axis belongs at y ≈ ${alphaAt.toFixed(1)}; its line is at ${alphaRows.join(', ')}`,
  );
  assert.ok(tRows.length > 0, 'the T line is drawn');
  assert.ok(
    tRows.every((y) => Math.abs(y - alphaAt) > 2),
    `T (rows ${tRows.join(', ')}) does not hide α`,
  );
}

/** Answers the webview's "listRuns" requests with the runs beside `runDir`, as the host does (the webview ignores a
 *  second answer to a request it already has one for). */
async function answerListRuns(page: Page, runDir: string): Promise<void> {
  await page.waitForFunction(() =>
    (globalThis as unknown as { __test: { posted(): { method?: string }[] } }).__test.posted().some((m) => m.method === 'listRuns'),
  );
  for (const m of (await call(page, 'posted')) as WebviewToHost[]) {
    if (m.type !== 'request' || m.method !== 'listRuns') continue;
    await call(page, 'deliver', { type: 'reply', id: m.id, ok: true, result: listSiblingRuns(runDir) } satisfies HostToWebview);
  }
}

async function snapshotOf(page: Page, view: 'run' | 'compare', ...dirs: string[]): Promise<void> {
  const message: HostToWebview = { type: 'snapshot', view, runs: dirs.map((d) => new RunSource(d).snapshot()) };
  await call(page, 'deliver', message);
}

describe('dashboard webview in chromium', function () {
  this.timeout(60_000);
  let harness: DashboardHarness;
  let runsDir: string;
  let realDir: string;
  let summary: Summary;

  before(async () => {
    harness = await startHarness();
    runsDir = tempRunsDir();
    realDir = copyRealRun(runsDir);
    summary = JSON.parse(fs.readFileSync(path.join(REAL_RUN_FIXTURE, RUN_FILES.summary), 'utf8')) as Summary;
  });

  after(async () => {
    await harness?.close();
    if (runsDir) fs.rmSync(runsDir, { recursive: true, force: true });
  });

  it('says ready, draws nothing until the snapshot, then draws the real run’s curves', async () => {
    const page = await harness.open();
    assert.deepEqual(await call(page, 'posted'), [{ type: 'ready' }]);
    assert.equal(await page.locator('.uplot').count(), 0);
    assert.match((await page.textContent('#app')) ?? '', /Reading the run/);

    await snapshotOf(page, 'run', realDir);
    await page.waitForSelector('[data-chart="loss"] .uplot');

    // Series: x plus one line per student; kd and kd/T² per student; T and α of the KD student only.
    assert.equal(await seriesCount(page, 'loss'), 3);
    assert.equal(await seriesCount(page, 'kd'), 5);
    assert.equal(await seriesCount(page, 'schedule'), 3);
    assert.equal(await seriesCount(page, 'epoch-accuracy'), 5);
    assert.equal(await page.locator('[data-section="steps"] .uplot').count(), 6);
    assert.equal(await page.locator('[data-section="epochs"] .uplot').count(), 5);

    const lossTexts = await call(page, 'textsDrawn', '[data-chart="loss"]');
    assert.ok(lossTexts.includes('step') && lossTexts.includes('loss'), `loss chart axis labels: ${lossTexts.join(' | ')}`);
    const scheduleTexts = await call(page, 'textsDrawn', '[data-chart="schedule"]');
    assert.ok(scheduleTexts.includes('T') && scheduleTexts.includes('α'), 'both axes of the schedule chart are labelled');
    assert.ok((await call(page, 'textsDrawn', '[data-chart="kl-to-teacher"]')).includes('epoch'));
    await assertScheduleDrawn(page, 'dark');

    const steps = readJsonLines<MetricsRecord>(path.join(realDir, RUN_FILES.metrics)).filter((r) => r.kind === 'step').length;
    assert.equal(await page.getAttribute('.readout', 'data-steps'), String(steps));

    const state = (await call(page, 'state')) as DashboardState;
    assert.equal(state.version, 1);
    assert.deepEqual(state.runDirs, [realDir]);
    assert.equal(state.ui.tab, 'curves');
    await screenshot(page, 'curves-dark');
    await assertClean(page);
    await page.close();
  });

  it('reads out values on hover, and zooms, pans and resets all step charts together', async () => {
    const page = await harness.open();
    await snapshotOf(page, 'run', realDir);
    await page.waitForSelector('[data-chart="ce"] .uplot');
    const over = (await page.locator('[data-chart="loss"] .u-over').boundingBox())!;
    const y = over.y + over.height / 2;
    await page.mouse.move(over.x + over.width * 0.5, y);
    const readout = await page.locator('[data-chart="loss"] .u-legend .u-series .u-value').allTextContents();
    assert.ok(
      readout.every((v) => /^\d/.test(v)),
      `hover read-out: ${readout.join(' | ')}`,
    );
    const lastStep = new RunSource(realDir).snapshot().steps[0].globalStep.length;
    assert.ok(
      Number(readout[0]) > 0.3 * lastStep && Number(readout[0]) < 0.7 * lastStep,
      `the step under the cursor, half-way along ${lastStep} steps: ${readout[0]}`,
    );
    assert.match(
      await page.locator('[data-chart="ce"] .u-legend .u-series .u-value').first().innerText(),
      /^\d/,
      'the cursor is synced to the other step charts',
    );

    const ce = page.locator('[data-chart="ce"] canvas');
    await page.mouse.move(0, 0); // the synced cursor's crosshair would be in the picture
    const before = await ce.screenshot();
    // Drag-select on the loss chart zooms the CE chart too.
    await page.mouse.move(over.x + over.width * 0.3, y);
    await page.mouse.down();
    await page.mouse.move(over.x + over.width * 0.6, y, { steps: 4 });
    await page.mouse.up();
    await page.waitForTimeout(100);
    const zoomed = await ce.screenshot();
    assert.ok(!zoomed.equals(before), 'zooming one step chart redraws the others');
    // Shift-drag pans.
    await page.keyboard.down('Shift');
    await page.mouse.move(over.x + over.width * 0.5, y);
    await page.mouse.down();
    await page.mouse.move(over.x + over.width * 0.2, y, { steps: 4 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    await page.waitForTimeout(100);
    assert.ok(!(await ce.screenshot()).equals(zoomed), 'panning moved the view');
    await page.mouse.dblclick(over.x + over.width * 0.5, y);
    await page.mouse.move(0, 0);
    await page.waitForTimeout(100);
    assert.ok((await ce.screenshot()).equals(before), 'double-click shows all the data again, exactly as before');
    await assertClean(page);
    await page.close();
  });

  it('grows with deltas tailed from a run being written, through the batcher', async () => {
    const dir = copyRealRun(runsDir, 'tail-run');
    const metricsFile = path.join(dir, RUN_FILES.metrics);
    const all = fs.readFileSync(metricsFile, 'utf8');
    const lines = all.split('\n').filter(Boolean);
    const kdOnly = lines.findIndex((l) => l.includes('"student":"baseline"'));
    fs.writeFileSync(metricsFile, lines.slice(0, 40).join('\n') + '\n');

    const page = await harness.open();
    await snapshotOf(page, 'run', dir);
    await page.waitForSelector('[data-chart="loss"] .uplot');
    assert.equal(await page.getAttribute('.readout', 'data-steps'), '40');
    assert.equal(await seriesCount(page, 'loss'), 2, 'only the KD student so far');

    const source = new RunSource(dir);
    source.snapshot();
    const posts: HostToWebview[] = [];
    const batcher = new DeltaBatcher((deltas) => posts.push({ type: 'delta', deltas }));
    // Append the rest in pieces, one ending mid-line as a writer might leave it between two reads.
    const rest = lines.slice(40).join('\n') + '\n';
    const cuts = [0, Math.floor(rest.length * 0.3), Math.floor(rest.length * 0.6) + 7, rest.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      fs.appendFileSync(metricsFile, rest.slice(cuts[i], cuts[i + 1]));
      const delta = source.poll();
      if (delta) batcher.push(delta);
    }
    batcher.flush();
    for (const m of posts) await call(page, 'deliver', m);
    const steps = lines.filter((l) => l.includes('"kind":"step"')).length;
    await page.waitForFunction(`document.querySelector('.readout')?.getAttribute('data-steps') === '${steps}'`);
    assert.ok(kdOnly > 40, 'the fixture has baseline records after the first 40 lines');
    assert.equal(await seriesCount(page, 'loss'), 3, 'the baseline appeared and was overlaid');
    await assertClean(page);
    await page.close();
  });

  it('patches live updates in place: a click lands, and focus and controls stay, while a run streams in', async () => {
    // The real run as it was in its first KD epoch: running (in this live process), no summary yet.
    const dir = copyRealRun(runsDir, 'live-run');
    const file = (name: keyof typeof RUN_FILES) => path.join(dir, RUN_FILES[name]);
    const status = JSON.parse(fs.readFileSync(file('status'), 'utf8')) as StatusFile;
    const metrics = fs.readFileSync(file('metrics'), 'utf8').split('\n').filter(Boolean);
    const softLabels = fs.readFileSync(file('softLabels'), 'utf8').split('\n').filter(Boolean);
    const summaryText = fs.readFileSync(file('summary'), 'utf8');
    const writeStatus = (patch: Partial<StatusFile>) =>
      fs.writeFileSync(file('status'), JSON.stringify({ ...status, status: 'running', pid: process.pid, student: 'kd', ...patch }));
    const firstEpochEnd = metrics.findIndex((l) => l.includes('"kind":"epoch"')) + 1;
    const softLabelsOf = (student: string, epoch: number) => softLabels.find((l) => l.includes(`"student":"${student}","epoch":${epoch},`))!;
    writeStatus({ epoch: 1 });
    fs.rmSync(file('summary'));
    fs.writeFileSync(file('metrics'), metrics.slice(0, firstEpochEnd).join('\n') + '\n');
    fs.writeFileSync(file('softLabels'), [softLabels[0], softLabelsOf('kd', 1)].join('\n') + '\n');

    const page = await harness.open();
    await snapshotOf(page, 'run', dir);
    await page.waitForSelector('[data-chart="loss"] .uplot');
    const source = new RunSource(dir);
    source.snapshot();
    /** Changes the run on disk, and delivers what the host's source reads of it. */
    const advance = async (change: () => void) => {
      change();
      const delta = source.poll();
      assert.ok(delta, 'the change reached the run source');
      await call(page, 'deliver', { type: 'delta', deltas: [delta] } satisfies HostToWebview);
    };
    const progress = () => page.textContent('header .progress');
    /** Tags elements, so a later check can tell the same node from a rebuilt look-alike. */
    type Tagged = { dataset: Record<string, string | undefined> };
    const tag = (selector: string, name: string) =>
      page.locator(selector).evaluateAll((nodes, n) => nodes.forEach((node, i) => ((node as unknown as Tagged).dataset.kept = `${n}-${i}`)), name);
    const stillTagged = (selector: string) =>
      page.locator(selector).evaluateAll((nodes) => nodes.map((node) => (node as unknown as Tagged).dataset.kept ?? 'rebuilt'));
    const focused = () => page.evaluate<string | undefined>(`document.activeElement?.dataset.kept ?? document.activeElement?.tagName`);

    // The header and tabs while the KD student trains: a status change patches them, it does not rebuild them.
    await tag('nav.tabs button', 'tab');
    await tag('header button', 'header');
    await tag('#smoothing', 'smoothing');
    await page.focus('button[data-tab="confusion"]');
    await advance(() => {
      fs.appendFileSync(file('metrics'), metrics.slice(firstEpochEnd, firstEpochEnd + 10).join('\n') + '\n');
      writeStatus({ epoch: 2 });
    });
    await page.waitForFunction(`document.querySelector('header .progress')?.textContent?.endsWith('epoch 2 of 2')`);
    assert.equal(await progress(), 'KD student · epoch 2 of 2');
    assert.deepEqual(await stillTagged('nav.tabs button'), ['tab-0', 'tab-1', 'tab-2', 'tab-3', 'tab-4', 'tab-5']);
    assert.deepEqual(await stillTagged('header button'), ['header-0', 'header-1']);
    assert.deepEqual(await stillTagged('#smoothing'), ['smoothing-0']);
    assert.equal(await focused(), 'tab-2', 'the focused tab keeps the focus');

    // A click whose press and release straddle a live update still lands on the tab.
    const tab = (await page.locator('button[data-tab="softLabels"]').boundingBox())!;
    await page.mouse.move(tab.x + tab.width / 2, tab.y + tab.height / 2);
    await page.mouse.down();
    await advance(() => writeStatus({ epoch: 2, student: 'kd', updatedAt: new Date().toISOString() }));
    await page.waitForTimeout(50);
    await page.mouse.up();
    assert.equal(await page.getAttribute('button[data-tab="softLabels"]', 'aria-selected'), 'true', 'the click selected the tab');
    await page.waitForSelector('#heatmap-teacher[data-rows]');

    // The soft-label controls: a new epoch of the same student keeps the list and its options as they are.
    await tag('#soft-student, #soft-student option, #epoch-scrubber, #temperature', 'soft');
    await page.focus('#temperature');
    await advance(() => fs.appendFileSync(file('softLabels'), softLabelsOf('kd', 2) + '\n'));
    await page.waitForFunction(`document.querySelector('#epoch-label')?.textContent === '2 of 2'`);
    assert.deepEqual(await stillTagged('#soft-student, #soft-student option, #epoch-scrubber, #temperature'), ['soft-0', 'soft-1', 'soft-2', 'soft-3']);
    assert.equal(await focused(), 'soft-3');
    // A second student adds its option to the same list, which can then be used (and keeps the focus).
    await advance(() => fs.appendFileSync(file('softLabels'), softLabelsOf('baseline', 1) + '\n'));
    await page.waitForFunction(`document.querySelectorAll('#soft-student option').length === 2`);
    assert.deepEqual(await stillTagged('#soft-student'), ['soft-0']);
    assert.equal(await page.inputValue('#soft-student'), 'kd');
    await page.focus('#soft-student');
    await advance(() => writeStatus({ epoch: 1, student: 'baseline' }));
    await page.waitForFunction(`document.querySelector('header .progress')?.textContent === 'scratch student · epoch 1 of 2'`);
    assert.deepEqual(await stillTagged('#soft-student'), ['soft-0']);
    assert.equal(await focused(), 'soft-0');

    // The comparison's run list stays put (and focused) while the run completes.
    await page.click('button[data-tab="compare"]');
    await page.waitForSelector('#run-filter');
    await answerListRuns(page, dir);
    await page.focus('#run-filter');
    await answerListRuns(page, dir);
    await page.waitForSelector('.run-row');
    await page.fill('#run-filter', 'e'); // half-typed: kept through the update
    await tag('#run-filter', 'run-filter');
    await tag('.run-row, .run-row input', 'compare');
    const compareTagged = await stillTagged('#run-filter, .run-row, .run-row input');
    await advance(() => {
      fs.appendFileSync(file('metrics'), metrics.slice(firstEpochEnd + 10).join('\n') + '\n');
      fs.writeFileSync(file('softLabels'), softLabels.join('\n') + '\n');
      fs.writeFileSync(file('summary'), summaryText);
      writeStatus({ ...status });
    });
    await page.waitForFunction(`document.querySelector('.run-row .status')?.textContent === 'completed'`);
    assert.deepEqual(await stillTagged('#run-filter, .run-row, .run-row input'), compareTagged);
    assert.equal(await focused(), 'run-filter-0');
    assert.equal(await page.inputValue('#run-filter'), 'e');
    assert.equal(await page.textContent('header .status'), 'completed');
    await assertClean(page);
    await page.close();
  });

  it('colours heatmap cells by probability, re-softens with the slider, and shows the clicked row as bars', async () => {
    const page = await harness.open();
    await snapshotOf(page, 'run', realDir);
    await page.click('button[data-tab="softLabels"]');
    await page.waitForSelector('#heatmap-teacher[data-rows]');

    const logits = teacherLogits(realDir);
    const run = new RunSource(realDir).snapshot();
    const kd = run.steps.find((s) => s.student === 'kd')!;
    const T = kd.temperature[kd.temperature.length - 1];
    assert.equal(await page.textContent('#temperature-label'), `T = ${T.toFixed(2)}`);

    // Cells at known probabilities: the teacher's top class, a middling one and the least likely one of some rows.
    for (const row of [0, 7, 19]) {
      const p = Array.from(softmaxRow(logits[row], T));
      const order = p.map((v, c) => [v, c] as const).sort((a, b) => b[0] - a[0]);
      for (const [prob, col] of [order[0], order[3], order[order.length - 1]]) {
        assertColorNear(
          await call(page, 'cellPixel', '#heatmap-teacher', row, col),
          expectedProbabilityColor('dark', prob),
          `teacher cell (${row}, ${col}) with p = ${prob.toFixed(4)}`,
        );
      }
    }
    // The student and difference maps: the last KD epoch's logits at the same T.
    const studentRecords = readJsonLines<SoftLabelRecord>(path.join(realDir, RUN_FILES.softLabels)).filter((r) => r.kind === 'student' && r.student === 'kd');
    const last = studentRecords[studentRecords.length - 1] as Extract<SoftLabelRecord, { kind: 'student' }>;
    const ps = Array.from(softmaxRow(last.logits[2], T));
    const pt = Array.from(softmaxRow(logits[2], T));
    const col = ps.map((v, c) => Math.abs(v - pt[c])).indexOf(Math.max(...ps.map((v, c) => Math.abs(v - pt[c]))));
    assertColorNear(await call(page, 'cellPixel', '#heatmap-student', 2, col), expectedProbabilityColor('dark', ps[col]), 'student cell');
    assertColorNear(
      await call(page, 'cellPixel', '#heatmap-diff', 2, col),
      expectedDifferenceColor('dark', ps[col] - pt[col]),
      `difference cell (${(ps[col] - pt[col]).toFixed(3)})`,
    );
    await screenshot(page, 'soft-labels-dark');

    // Entropy at the run's T, then higher at a high T and lower at a low one: computed here from the same logits.
    const entropyShown = async () => Number(await page.getAttribute('#teacher-entropy', 'data-value'));
    const temperatureSet = async () => ((await call(page, 'state')) as DashboardState).ui.temperature ?? T;
    assert.ok(Math.abs((await entropyShown()) - meanEntropy(logits, T)) < 1e-4);
    await call(page, 'setRange', '#temperature', 950);
    const high = await temperatureSet();
    assert.ok(high > 10, `slider at 950/1000 gives T = ${high}`);
    assert.ok(Math.abs((await entropyShown()) - meanEntropy(logits, high)) < 1e-4);
    assert.ok((await entropyShown()) > meanEntropy(logits, T) + 0.1, 'a higher T spreads the teacher’s probability');
    const row0 = Array.from(softmaxRow(logits[0], high));
    assertColorNear(await call(page, 'cellPixel', '#heatmap-teacher', 0, 5), expectedProbabilityColor('dark', row0[5]), 'a cell re-softened at high T');
    await screenshot(page, 'soft-labels-high-T');
    await call(page, 'setRange', '#temperature', 0);
    assert.ok(Math.abs((await temperatureSet()) - 0.5) < 1e-9);
    assert.ok((await entropyShown()) < meanEntropy(logits, T));

    // Click row 6 (index 5) of the teacher map: the bars show that sample's two distributions.
    const box = (await page.locator('#heatmap-teacher').boundingBox())!;
    const geometry = await page.locator('#heatmap-teacher').evaluate((c) => ({ ...(c as unknown as { dataset: Record<string, string> }).dataset }));
    await page.mouse.click(box.x + Number(geometry.left) + 3, box.y + Number(geometry.top) + 5.5 * Number(geometry.cell));
    assert.equal(((await call(page, 'state')) as DashboardState).ui.row, 5);
    const probe = JSON.parse(fs.readFileSync(path.join(realDir, RUN_FILES.probe), 'utf8')) as { labels: number[]; classNames: string[] };
    assert.match((await page.textContent('#row-caption')) ?? '', new RegExp(`^Probe row 6 · true class: ${probe.classNames[probe.labels[5]]}`));
    const barTexts = await call(page, 'textsDrawn', '#row-bars');
    assert.ok(barTexts.includes('teacher p_t') && barTexts.includes('KD student p_s'), `bar legend: ${barTexts.join(' | ')}`);

    // The epoch scrubber: epoch 1 of the KD student.
    await call(page, 'setRange', '#epoch-scrubber', 1);
    assert.equal(await page.textContent('#epoch-label'), '1 of 2');
    await assertClean(page);
    await page.close();
  });

  it('tabs are a WAI-ARIA tablist: ←/→ wrap, Home/End, roving tabindex, the panel labelled by the selected tab', async () => {
    const page = await harness.open();
    await snapshotOf(page, 'run', realDir);
    await page.waitForSelector('[data-chart="loss"] .uplot');
    // Evaluated in the page (strings: the test's own tsconfig has no DOM types).
    const selected = () =>
      page.evaluate<string[]>(
        `[...document.querySelectorAll('[role=tab]')].filter((t) => t.getAttribute('aria-selected') === 'true').map((t) => t.dataset.tab)`,
      );
    const tabbable = () => page.evaluate<string[]>(`[...document.querySelectorAll('[role=tab]')].filter((t) => t.tabIndex === 0).map((t) => t.dataset.tab)`);
    assert.deepEqual(await tabbable(), ['curves'], 'only the selected tab is in the Tab order');
    await page.focus('#tab-curves');
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await selected(), ['softLabels']);
    assert.equal(await page.evaluate<string>('document.activeElement?.id'), 'tab-softLabels', 'focus moves with the selection');
    await page.waitForSelector('#heatmap-teacher[data-rows]');
    assert.equal(await page.getAttribute('#tab-panel', 'aria-labelledby'), 'tab-softLabels');
    await page.keyboard.press('End');
    assert.deepEqual(await selected(), ['compare']);
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await selected(), ['curves'], '→ on the last tab wraps to the first');
    await page.keyboard.press('ArrowLeft');
    assert.deepEqual(await selected(), ['compare'], '← on the first wraps to the last');
    await page.keyboard.press('Home');
    assert.deepEqual(await selected(), ['curves']);
    assert.deepEqual(await tabbable(), ['curves']);
    await assertClean(page);
    await page.close();
  });

  it('soft labels in an 800 px-high view: bars, legends and hint beside the maps in view; ↑/↓ anywhere; whole class names', async () => {
    const page = await harness.open({ width: 1280, height: 800 });
    await snapshotOf(page, 'run', realDir);
    await page.click('button[data-tab="softLabels"]');
    await page.waitForSelector('#heatmap-teacher[data-rows]');
    for (const sel of ['#row-bars', '#legend-probability', '#legend-difference', '#row-caption', '.soft-side .hint', '#heatmap-teacher']) {
      const box = (await page.locator(sel).boundingBox())!;
      assert.ok(box.y >= 0 && box.y + box.height <= 800, `${sel} is in view without scrolling: y ${box.y.toFixed(0)} + ${box.height.toFixed(0)} in 800`);
    }
    // Click row 4: the caption and bars (beside the maps, no scrolling) follow; then ↑/↓ with the focus on the tab button.
    const box = (await page.locator('#heatmap-teacher').boundingBox())!;
    const g = await page.locator('#heatmap-teacher').evaluate((c) => ({ ...(c as unknown as { dataset: Record<string, string> }).dataset }));
    await page.mouse.click(box.x + Number(g.left) + 3, box.y + Number(g.top) + 3.5 * Number(g.cell));
    const row = async () => ((await call(page, 'state')) as DashboardState).ui.row;
    assert.equal(await row(), 3);
    assert.match((await page.textContent('#row-caption')) ?? '', /^Probe row 4 /);
    await page.focus('#tab-softLabels');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await row(), 5, '↓ moves the row while the focus is on the tab');
    await page.evaluate('document.activeElement?.blur()');
    await page.keyboard.press('ArrowUp');
    assert.equal(await row(), 4, '↑ with nothing focused');
    assert.match((await page.textContent('#row-caption')) ?? '', /^Probe row 5 /);
    await page.focus('#temperature');
    const t0 = await page.inputValue('#temperature');
    await page.keyboard.press('ArrowUp');
    assert.equal(await row(), 4, 'a slider keeps its own arrows');
    assert.notEqual(await page.inputValue('#temperature'), t0);
    // Class names are drawn whole: no ellipsis on the bars' axis, and the column labels fit the canvas.
    const barTexts = await call(page, 'textsDrawn', '#row-bars');
    assert.ok(barTexts.includes('Ankle boot') && !barTexts.some((t) => t.endsWith('…')), `bar labels: ${barTexts.join(' | ')}`);
    // The rightmost column of pixels above the cells is empty: the last label ("Ankle boot") ends inside the canvas.
    const last = await page.evaluate<boolean>(`(() => {
      const canvas = document.querySelector('#heatmap-teacher');
      const top = Number(canvas.dataset.top) * (canvas.width / canvas.clientWidth);
      const data = canvas.getContext('2d').getImageData(canvas.width - 1, 0, 1, Math.floor(top)).data;
      return data.some((v, i) => i % 4 === 3 && v > 0);
    })()`);
    assert.equal(last, false, 'the last column label is not cut off at the canvas edge');
    await screenshot(page, 'soft-labels-800');

    // High contrast: the difference map on the 4th-root scale, so small differences stand out from black.
    await call(page, 'applyTheme', 'high-contrast');
    await page.waitForFunction(`document.body.classList.contains('vscode-high-contrast')`);
    await page.waitForSelector('#heatmap-diff[data-rows]');
    const T = Number(((await page.textContent('#temperature-label')) ?? '').replace('T = ', ''));
    const studentRecords = readJsonLines<SoftLabelRecord>(path.join(realDir, RUN_FILES.softLabels)).filter((r) => r.kind === 'student' && r.student === 'kd');
    const lastEpoch = studentRecords[studentRecords.length - 1] as Extract<SoftLabelRecord, { kind: 'student' }>;
    const ps = Array.from(softmaxRow(lastEpoch.logits[0], T));
    const pt = Array.from(softmaxRow(teacherLogits(realDir)[0], T));
    for (const col of [0, 4, 9])
      assertColorNear(
        await call(page, 'cellPixel', '#heatmap-diff', 0, col),
        expectedDifferenceColor('high-contrast', ps[col] - pt[col]),
        `high-contrast difference cell (0, ${col})`,
      );
    await screenshot(page, 'soft-labels-800-high-contrast');
    await assertClean(page);
    await page.close();
  });

  it('follows a theme switch on its canvases (heatmaps and uPlot)', async () => {
    const page = await harness.open({ theme: 'dark' });
    await snapshotOf(page, 'run', realDir);
    await page.waitForSelector('[data-chart="loss"] .uplot');
    const gridDark = THEME_VARIABLES.dark['--vscode-charts-lines'];
    const gridLight = THEME_VARIABLES.light['--vscode-charts-lines'];
    assert.ok((await call(page, 'colorsIn', '[data-chart="loss"] canvas')).includes(gridDark), 'dark grid lines');
    await call(page, 'applyTheme', 'light');
    await page.waitForFunction(`document.body.classList.contains('vscode-light')`);
    await page.waitForSelector('[data-chart="loss"] .uplot');
    const light = await call(page, 'colorsIn', '[data-chart="loss"] canvas');
    assert.ok(light.includes(gridLight) && !light.includes(gridDark), 'the chart was redrawn in the light theme’s colours');
    await assertScheduleDrawn(page, 'light');
    await screenshot(page, 'curves-light');

    await page.click('button[data-tab="softLabels"]');
    await page.waitForSelector('#heatmap-teacher[data-rows]');
    const T = Number(((await page.textContent('#temperature-label')) ?? '').replace('T = ', ''));
    const p = softmaxRow(teacherLogits(realDir)[1], T);
    assertColorNear(await call(page, 'cellPixel', '#heatmap-teacher', 1, 4), expectedProbabilityColor('light', p[4]), 'light theme cell');
    await screenshot(page, 'soft-labels-light');
    await call(page, 'applyTheme', 'high-contrast');
    await page.waitForFunction(`document.body.classList.contains('vscode-high-contrast')`);
    assertColorNear(await call(page, 'cellPixel', '#heatmap-teacher', 1, 4), expectedProbabilityColor('high-contrast', p[4]), 'high-contrast cell');
    await screenshot(page, 'soft-labels-high-contrast');
    await assertClean(page);
    await page.close();
  });

  it('shows confusion matrices, per-class F1 and the report card from summary.json', async () => {
    const page = await harness.open();
    await snapshotOf(page, 'run', realDir);
    await page.click('button[data-tab="confusion"]');
    for (const id of ['teacher', 'scratch', 'kd', 'diff']) await page.waitForSelector(`#confusion-${id}[data-rows="${summary.classNames.length}"]`);
    const kdTexts = await call(page, 'textsDrawn', '#confusion-kd');
    assert.ok(kdTexts.includes(String(summary.student.confusion[0][0])), 'the KD matrix shows its counts');
    const diff = summary.student.confusion[3][3] - summary.baseline!.confusion[3][3];
    if (diff) assert.ok((await call(page, 'textsDrawn', '#confusion-diff')).includes(diff > 0 ? `+${diff}` : String(diff)));
    assert.ok((await call(page, 'textsDrawn', '#f1-bars')).includes('Per-class F1 (test)'));
    await screenshot(page, 'confusion-dark');

    await page.click('button[data-tab="report"]');
    const table = (await page.textContent('table.report')) ?? '';
    for (const m of [summary.teacher, summary.baseline!, summary.student]) assert.ok(table.includes(`${(m.accuracy * 100).toFixed(2)}%`));
    assert.ok(table.includes(summary.student.params!.toLocaleString('en-US')));
    // The fixture's KD student (58.9%) lost to scratch (69.7%) on 1,000 samples: far beyond the ±4.2-point noise.
    assert.match((await page.textContent('.verdict')) ?? '', /KD hurt: the KD student is 10\.8 points less accurate than the scratch student/);
    // Scratch is best beyond noise in accuracy, macro-F1 and accuracy kept; agreement (72.7% vs 72.4%) is within noise,
    // and the latencies are single means (no spread, written before rounds), so neither is marked.
    assert.deepEqual(await page.locator('td.best').allTextContents(), ['69.70%', '67.17%', '87.8%']);
    await screenshot(page, 'report-dark');
    await assertClean(page);
    await page.close();
  });

  it('report card: latency with its spread, best only beyond noise, sizes of every model, the verdict', async () => {
    const dir = copyRealRun(runsDir, 'report-spread');
    const s = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILES.summary), 'utf8')) as Summary;
    const spread = (min: number, median: number, max: number) => ({ rounds: 7, min, q1: (min + median) / 2, median, q3: (median + max) / 2, max });
    const latency = (b1: ReturnType<typeof spread>, b256: ReturnType<typeof spread>) => ({
      batch1: b1.median,
      batch256: b256.median,
      spread: { batch1: b1, batch256: b256 },
    });
    // The case: two identical students measured 0.139 vs 0.036 ms at batch 1, their ranges overlapping.
    s.baseline!.latencyMs = latency(spread(0.03, 0.139, 0.2), spread(0.01, 0.011, 0.012));
    s.student.latencyMs = latency(spread(0.031, 0.036, 0.16), spread(0.002, 0.003, 0.004));
    s.teacher = {
      ...s.teacher,
      sizeBytes: 407_560,
      diskBytes: 409_000,
      gzipBytes: 370_000,
      latencyMs: latency(spread(0.2, 0.25, 0.3), spread(0.05, 0.06, 0.07)),
    };
    fs.writeFileSync(path.join(dir, RUN_FILES.summary), JSON.stringify(s));
    const page = await harness.open();
    await snapshotOf(page, 'run', dir);
    await page.click('button[data-tab="report"]');
    const row = async (label: string) => page.locator('table.report tbody tr', { has: page.locator(`th:text-is("${label}")`) });
    const cells = async (label: string) => (await row(label)).locator('td').allTextContents();
    const bold = async (label: string) => (await row(label)).locator('td.best').allTextContents();
    assert.deepEqual(await bold('Latency, batch 1'), [], 'overlapping ranges: no best at batch 1');
    assert.deepEqual(await bold('Latency, batch 256'), ['0.003 ms 0.002–0.004'], 'the KD student is faster beyond its range at batch 256');
    assert.equal((await cells('Latency, batch 1'))[1], '0.139 ms 0.03–0.2');
    assert.equal((await cells('Size'))[0], '398.0 KiB');
    for (const label of ['Size', 'Size on disk', 'Size, gzip']) assert.ok(!(await cells(label))[0].includes('—'), `the teacher's ${label} is shown`);
    const verdict = (await page.textContent('.verdict')) ?? '';
    assert.match(verdict, /KD hurt/);
    // The teacher's batch-1 range (0.2–0.3 ms) is clear of the KD student's (0.031–0.16): a speed-up, median over median.
    assert.match(
      verdict,
      /16× smaller than the teacher \(12,730 vs 203,530 parameters\) and 6\.9× faster at batch 1, keeping 74\.2% of its accuracy\./,
      verdict,
    );
    await page.setViewportSize({ width: 1000, height: 800 });
    await screenshot(page, 'report-spread-dark');
    await call(page, 'applyTheme', 'high-contrast');
    await page.waitForFunction(`document.body.classList.contains('vscode-high-contrast')`);
    await screenshot(page, 'report-spread-high-contrast');
    await assertClean(page);
    await page.close();
  });

  it('compares runs: overlays, summary table, config diff, and adds a run by request and reply', async () => {
    const other = writeSyntheticRunDir(runsDir, { runId: 'synthetic-t8', temperature: [8, 8], alpha: [0.9, 0.9], epochs: 3, seed: 11 });
    const third = writeSyntheticRunDir(runsDir, { runId: 'synthetic-t2', temperature: [2, 2], alpha: [0.5, 0.5], epochs: 3, seed: 12 });
    const page = await harness.open();
    await snapshotOf(page, 'compare', realDir, other);
    await page.waitForSelector('[data-chart="cmp-loss"] .uplot');
    assert.equal(await seriesCount(page, 'cmp-loss'), 3);
    assert.equal(await seriesCount(page, 'cmp-val-accuracy'), 3);
    const diffKeys = await page.locator('table.config-diff tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    assert.ok(diffKeys.includes('distillation.temperature') && diffKeys.includes('training.epochs'), `config diff: ${diffKeys.join(', ')}`);
    assert.ok(!diffKeys.includes('data.format'), 'equal values are not listed');

    // The add-run list comes from the host: answer the webview's request as the host does.
    const requests = async () =>
      ((await call(page, 'posted')) as WebviewToHost[]).filter((m): m is Extract<WebviewToHost, { type: 'request' }> => m.type === 'request');
    await page.waitForFunction(() => (globalThis as unknown as { __test: { posted(): { type: string }[] } }).__test.posted().some((m) => m.type === 'request'));
    const answered = new Set<number>();
    const answerListRuns = async () => {
      for (const r of await requests()) {
        if (r.method !== 'listRuns' || answered.has(r.id)) continue;
        answered.add(r.id);
        await call(page, 'deliver', { type: 'reply', id: r.id, ok: true, result: listSiblingRuns(realDir) } satisfies HostToWebview);
      }
    };
    await answerListRuns();
    const row = (dir: string) => page.locator(`.run-row[data-run-dir="${dir}"]`);
    await row(third).waitFor();
    // The picker: every run of the folder with a checkbox; the compared ones checked, the dashboard's own fixed.
    const checked = () => page.locator('.run-row[data-checked="true"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-dir')));
    assert.deepEqual((await checked()).sort(), [realDir, other].sort());
    assert.equal(await row(realDir).locator('input').isDisabled(), true, 'the dashboard’s own run cannot be unchecked');
    const all = listSiblingRuns(realDir).length; // this folder's runs, those of earlier tests too
    assert.equal(await page.textContent('.run-count'), `${all} of ${all} runs listed · 2 compared`);
    await screenshot(page, 'compare-picker-dark');
    // The filter: a regular expression over names, ids and statuses; plain text when it is not a valid one.
    await page.focus('#run-filter'); // turning to the picker asks the host again
    await answerListRuns();
    await page.fill('#run-filter', 't2$');
    assert.deepEqual(await page.locator('.run-row:not([hidden])').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-dir'))), [third]);
    assert.equal(await page.textContent('.run-count'), `1 of ${all} runs listed · 2 compared`);
    await page.fill('#run-filter', 'synthetic-t[');
    assert.equal(await page.locator('.run-row:not([hidden])').count(), 0, 'an invalid regex is matched as text');
    await page.fill('#run-filter', 'synthetic');
    assert.equal(await page.locator('.run-row:not([hidden])').count(), 2);
    await row(third).locator('input').check();
    await page.waitForFunction(() =>
      (globalThis as unknown as { __test: { posted(): { method?: string }[] } }).__test.posted().some((m) => m.method === 'addRun'),
    );
    const add = (await requests()).find((r) => r.method === 'addRun')!;
    assert.deepEqual(add.params, { runDir: third });
    await call(page, 'deliver', { type: 'reply', id: add.id, ok: true, result: RunSource.read(third) } satisfies HostToWebview);
    await page.waitForFunction(`document.querySelectorAll('.run-row[data-checked="true"]').length === 3`);
    assert.equal(await seriesCount(page, 'cmp-loss'), 4);
    assert.deepEqual(((await call(page, 'state')) as DashboardState).runDirs, [realDir, other, third]);
    assert.equal(await page.locator('table.compare-summary thead th').count(), 4);
    await screenshot(page, 'compare-dark');
    // Unchecking removes a run from the comparison (and asks the host to stop tailing it).
    await row(other).locator('input').uncheck();
    await page.waitForFunction(() =>
      (globalThis as unknown as { __test: { posted(): { method?: string }[] } }).__test.posted().some((m) => m.method === 'removeRun'),
    );
    const remove = (await requests()).find((r) => r.method === 'removeRun')!;
    assert.deepEqual(remove.params, { runDir: other });
    await call(page, 'deliver', { type: 'reply', id: remove.id, ok: true, result: null } satisfies HostToWebview);
    assert.deepEqual(((await call(page, 'state')) as DashboardState).runDirs, [realDir, third]);
    assert.equal(await seriesCount(page, 'cmp-loss'), 3);
    await assertClean(page);
    await page.close();
  });

  it('restores the UI selections a reload hands back, and re-reads the data from disk', async () => {
    const state: DashboardState = {
      version: 1,
      view: 'run',
      runDirs: [realDir],
      ui: { tab: 'softLabels', smoothing: 0.3, logScale: true, student: 'baseline', temperature: 8, row: 3 },
    };
    const page = await harness.open({ state });
    await snapshotOf(page, 'run', realDir);
    await page.waitForSelector('#heatmap-teacher[data-rows]');
    assert.equal(await page.textContent('#temperature-label'), 'T = 8.00');
    assert.equal(await page.inputValue('#soft-student'), 'baseline');
    assert.match((await page.textContent('#row-caption')) ?? '', /^Probe row 4/);
    await page.click('button[data-tab="curves"]');
    assert.equal(await page.isChecked('#log-scale'), true);
    assert.equal(await page.inputValue('#smoothing'), '0.3');
    await assertClean(page);
    await page.close();
  });
});
