/**
 * The Sweep view in Debian's chromium, fed by the host's own reader (readSweepData) of a sweep folder written with the
 * coordinator's writers: two heatmaps (one per student) of T × α, cells coloured by Δ against their scratch baseline
 * with the theme's colours, mean ± std in the tooltip, a cell filling in when results.jsonl grows, clicks and keys
 * opening trials, a sortable table, the axis pickers and the theme switch. Screenshots go to test-artifacts/webview/.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { readSweepData } from '../../src/extension/dashboard/sweepSource';
import type { HostToSweepView, SweepViewToHost } from '../../src/shared/sweepProtocol';
import { removeTempDir, tempDir } from '../support/tempDirs';
import { markRunning, recordTrial, writeSyntheticSweep, A, S, T } from '../support/syntheticSweep';
import { call, screenshot, startHarness, type DashboardHarness } from './harness';
import { THEME_VARIABLES, type ThemeName } from './page/api';

const hex = (s: string) => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
/** The cell colour, written out independently of the webview: background → charts-blue (better) or charts-orange
 *  (worse), |Δ| / max |Δ| of the way, rounded to bytes. */
const expectedCell = (theme: ThemeName, tone: number) => {
  const bg = hex(THEME_VARIABLES[theme]['--vscode-editor-background']);
  const end = hex(THEME_VARIABLES[theme][tone < 0 ? '--vscode-charts-orange' : '--vscode-charts-blue']);
  return bg.map((b, i) => b + (end[i] - b) * Math.abs(tone));
};
/** Within one byte per channel: the tone is a ratio of float differences (0.80 − 0.85 over 0.90 − 0.80 is
 *  −0.4999999999999994, not −0.5), so a channel that lands on x.5 may round either way. */
const assertCellColor = async (page: Page, theme: ThemeName, facet: number, x: number, y: number, tone: number) => {
  const css = await background(page, facet, x, y);
  const actual = /rgb\((\d+), (\d+), (\d+)\)/.exec(css)!.slice(1).map(Number);
  const expected = expectedCell(theme, tone);
  assert.ok(
    actual.every((v, i) => Math.abs(v - expected[i]) <= 1),
    `cell (${facet}: ${x}, ${y}) should be rgb(${expected.map((v) => v.toFixed(1))}) in ${theme}; it is ${css}`,
  );
};

const posted = async (page: Page) => (await call(page, 'posted')) as SweepViewToHost[];
const cell = (page: Page, facet: number, x: number, y: number) => page.locator(`table.sweep-heatmap[data-facet="${facet}"] td[data-x="${x}"][data-y="${y}"]`);
/** The page's globals, typed for the few calls made here (this file is compiled without the DOM library). */
type PageGlobals = { getComputedStyle(e: unknown): { backgroundColor: string }; document: { activeElement: { dataset: Record<string, string> } } };
const background = (page: Page, facet: number, x: number, y: number) =>
  cell(page, facet, x, y).evaluate((el) => (globalThis as unknown as PageGlobals).getComputedStyle(el).backgroundColor);
const focusedKey = (page: Page) => page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement.dataset.key);

describe('Sweep view (chromium)', function () {
  this.timeout(120_000);
  let harness: DashboardHarness;
  let dir: string;
  let state: ReturnType<typeof writeSyntheticSweep>;

  before(async () => {
    harness = await startHarness();
    dir = tempDir('distill-sweep-view-');
    state = writeSyntheticSweep(dir);
    // Scratch: mlp 0.80 / 0.82 (seeds 1, 2), cnn 0.85 / 0.85. Points: p00 (T 2, α 0.5, mlp) 0.84 and 0.86 (mean 0.85,
    // Δ +0.04); p02 (T 2, α 0.9, mlp) 0.90 (Δ +0.10, the largest); p03 (T 2, α 0.9, cnn) 0.80 (Δ −0.05).
    for (const [id, v] of Object.entries({ b00: 0.8, b01: 0.82, b02: 0.85, b03: 0.85, 'p00-r0': 0.84, 'p00-r1': 0.86, 'p02-r0': 0.9, 'p03-r0': 0.8 }))
      recordTrial(dir, state, id, v);
    recordTrial(dir, state, 'p04-r0', undefined, 'failed');
    markRunning(dir, 'p01-r0');
  });
  after(async () => {
    await harness?.close();
    removeTempDir(dir);
  });

  const deliver = (page: Page) => call(page, 'deliver', { type: 'sweep', data: readSweepData(dir) } satisfies HostToSweepView);

  it('draws a map per student, coloured by Δ vs scratch, with mean ± std and the baseline in the legend', async () => {
    const page = await harness.open({ app: 'sweep' });
    assert.deepEqual(await posted(page), [{ type: 'ready' }]);
    await deliver(page);
    assert.deepEqual(await page.locator('.sweep-facet figcaption').allTextContents(), [`${S} = mlp [32]`, `${S} = cnn-small`]);
    assert.deepEqual(await page.locator('table.sweep-heatmap[data-facet="0"] thead th').allTextContents(), [`${T} →`, `${A} ↓`, '2', '4']);
    assert.equal(await cell(page, 0, 0, 0).locator('.sweep-value').textContent(), '85.00%');
    // Sample std of 0.84 and 0.86: 0.01414 → 1.41 points.
    assert.equal(await cell(page, 0, 0, 0).locator('.sweep-sub').textContent(), '± 1.41');
    await assertCellColor(page, 'dark', 0, 0, 0, 0.4);
    await assertCellColor(page, 'dark', 0, 0, 1, 1);
    await assertCellColor(page, 'dark', 1, 0, 1, -0.5);
    // The running trial's cell says so; the failed one's too; cells with nothing finished have no colour.
    assert.equal(await cell(page, 1, 0, 0).locator('.sweep-value').textContent(), 'running…');
    assert.match((await cell(page, 1, 0, 0).getAttribute('class'))!, /running/);
    assert.equal(await cell(page, 0, 1, 0).locator('.sweep-sub').textContent(), '1/2');
    // Three distinct scratch values: the legend gives the overall mean ± std and says cells use their own.
    assert.match((await page.locator('.sweep-baseline').textContent())!, /^Scratch baselines: 83\.00% ± 2\.45 \(n = 4\) overall/);
    assert.match((await page.locator('.sweep-header .progress').textContent())!, /^9 of 20 trials done · 1 running · 1 failed/);

    await cell(page, 0, 0, 0).hover();
    const tip = (await page.locator('#sweep-tooltip').innerText()).split('\n');
    assert.deepEqual(tip, [
      `${T} = 2 · ${A} = 0.5`,
      'student.accuracy: 85.00% ± 1.41 (n = 2)',
      'scratch: 81.00% ± 1.41 (n = 2) · Δ +4.00 pt',
      '2 of 2 trials done',
      'Enter or click: open p00-r1',
    ]);
    await screenshot(page, 'sweep-dark');

    // Clicking a cell opens its best repeat; a row opens its own trial.
    await cell(page, 0, 0, 0).click();
    await page.locator('tr.sweep-trial[data-trial="b02"]').click();
    assert.deepEqual((await posted(page)).slice(1), [
      { type: 'openTrial', trial: 'p00-r1' },
      { type: 'openTrial', trial: 'b02' },
    ]);
    assert.deepEqual(await call(page, 'errors'), []);
    assert.deepEqual(await call(page, 'cspViolations'), []);
    await page.close();
  });

  it('fills a cell in when its trial finishes, keeping the keyboard focus', async () => {
    const page = await harness.open({ app: 'sweep' });
    await deliver(page);
    // Focus moves with the arrow keys: from (0, 0) right to T = 4, down to α = 0.9.
    await cell(page, 0, 0, 0).focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    assert.equal(await focusedKey(page), '0:1:1');
    assert.equal(await cell(page, 0, 1, 1).locator('.sweep-value').textContent(), '…');
    // p06 (T 4, α 0.9, mlp) finishes at 0.88: Δ +0.08 against b00's 0.80, tone 0.8.
    recordTrial(dir, state, 'p06-r0', 0.88);
    await deliver(page);
    assert.equal(await cell(page, 0, 1, 1).locator('.sweep-value').textContent(), '88.00%');
    await assertCellColor(page, 'dark', 0, 1, 1, 0.8);
    assert.equal(await focusedKey(page), '0:1:1', 'the focus stays on the cell');
    await page.keyboard.press('Enter');
    assert.deepEqual((await posted(page)).at(-1), { type: 'openTrial', trial: 'p06-r0' });
    await page.close();
  });

  it('sorts the table by a column, both ways, unfinished trials last; Enter on a row opens it', async () => {
    const page = await harness.open({ app: 'sweep' });
    await deliver(page);
    const ids = () =>
      page.locator('tr.sweep-trial').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: Record<string, string> }).dataset.trial));
    assert.equal((await ids()).length, 20);
    // Default: the objective, best first.
    assert.deepEqual((await ids()).slice(0, 3), ['p02-r0', 'p06-r0', 'p00-r1']);
    const header = page.locator('table.sweep-trials th', { hasText: 'student.accuracy' });
    assert.equal(await header.getAttribute('aria-sort'), 'descending');
    await header.locator('button').click();
    assert.equal(await header.getAttribute('aria-sort'), 'ascending');
    assert.deepEqual((await ids()).slice(0, 3), ['b00', 'p03-r0', 'b01']);
    assert.equal((await ids()).at(-1), 'p07-r1', 'pending trials come last either way');
    await page.locator('table.sweep-trials th button', { hasText: 'Δ vs scratch' }).click();
    assert.deepEqual((await ids()).slice(0, 2), ['p02-r0', 'p06-r0']);
    await page.locator('tr.sweep-trial[data-trial="p03-r0"]').focus();
    await page.keyboard.press('Enter');
    assert.deepEqual((await posted(page)).at(-1), { type: 'openTrial', trial: 'p03-r0' });
    // The sort is kept with the webview state, for a reload.
    assert.deepEqual(((await call(page, 'state')) as { ui: { sort: unknown } }).ui.sort, { key: 'delta', descending: true });
    await page.close();
  });

  it('switches axes with the pickers (student × T, one map per α), and follows a light theme', async () => {
    const page = await harness.open({ app: 'sweep', theme: 'light' });
    await deliver(page);
    await page.selectOption('#sweep-x', S);
    await page.selectOption('#sweep-y', T);
    assert.deepEqual(await page.locator('table.sweep-heatmap[data-facet="0"] thead th').allTextContents(), [`${S} →`, `${T} ↓`, 'mlp [32]', 'cnn-small']);
    assert.deepEqual(await page.locator('.sweep-facet figcaption').allTextContents(), [`${A} = 0.5`, `${A} = 0.9`]);
    // α 0.9 map, T 2 row: mlp is p02 (Δ +0.10 → tone 1), cnn is p03 (Δ −0.05 → tone −0.5), light theme colours.
    await assertCellColor(page, 'light', 1, 0, 0, 1);
    await assertCellColor(page, 'light', 1, 1, 0, -0.5);
    await page.selectOption('#sweep-y', '');
    assert.equal(await page.locator('table.sweep-heatmap[data-facet="0"] tbody tr').count(), 1, 'one row');
    await screenshot(page, 'sweep-light');
    await call(page, 'applyTheme', 'dark');
    await page.selectOption('#sweep-y', T);
    await assertCellColor(page, 'dark', 1, 0, 0, 1);
    assert.deepEqual(await call(page, 'errors'), []);
    await page.close();
  });
});
