/**
 * The Compression tab in headless Chromium, on the real run fixture with compression stages added to its
 * summary.json: every model is a point at its size on a log axis and its accuracy, the Pareto frontier is the set
 * computed here independently, each point is labelled, hover shows its numbers, and the latency chart follows the
 * batch-size choice.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { RunSource } from '../../src/extension/dashboard/runSource';
import type { CompressionEntry, CompressionResult, ModelReport, Summary } from '../../src/shared/records';
import { RUN_FILES } from '../../src/shared/runDir';
import type { HostToWebview, WebviewToHost } from '../../src/shared/webviewProtocol';
import { call, screenshot, startHarness, type DashboardHarness } from './harness';
import { copyRealRun, tempRunsDir } from './runDirs';

interface DrawnPoint {
  label: string;
  x: number;
  y: number;
  frontier: boolean;
}

/** A stage row derived from the real KD student's report, with the given size, accuracy change and latency. */
function stageOf(
  kd: ModelReport,
  stage: CompressionResult['stage'],
  input: CompressionResult['input'],
  bytes: number,
  dAcc: number,
  latency: number,
  extra: Partial<CompressionResult> = {},
): CompressionResult {
  return {
    ...kd,
    stage,
    kind: stage === 'prune' ? 'prune' : stage === 'low-rank' ? 'low-rank' : 'quantize',
    input,
    dir: `compressed/${stage}`,
    notes: [],
    accuracy: kd.accuracy + dAcc,
    sizeBytes: bytes,
    diskBytes: bytes + 1500,
    gzipBytes: Math.round(bytes * 0.8),
    nonZeroParams: kd.params!,
    accuracyChangePts: 100 * dAcc,
    latencyMs: { batch1: latency, batch256: latency / 20 },
    ...extra,
  };
}

const pointsOf = async (page: Page, id: string) => JSON.parse((await page.getAttribute(`#${id}`, 'data-points')) ?? '[]') as DrawnPoint[];

/** Pareto set, written out here: no other model at most as large and at least as accurate, better on one. */
function expectedFrontier(models: { label: string; cost: number; accuracy: number }[]): Set<string> {
  return new Set(
    models
      .filter((m) => !models.some((o) => o !== m && o.cost <= m.cost && o.accuracy >= m.accuracy && (o.cost < m.cost || o.accuracy > m.accuracy)))
      .map((m) => m.label),
  );
}

describe('dashboard webview: the Compression tab', function () {
  this.timeout(60_000);
  let harness: DashboardHarness;
  let runsDir: string;
  let runDir: string;
  let summary: Summary;

  before(async () => {
    harness = await startHarness();
    runsDir = tempRunsDir();
    runDir = copyRealRun(runsDir);
    summary = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.summary), 'utf8')) as Summary;
    const kd = summary.student;
    const bytes = kd.sizeBytes!;
    summary.teacher.sizeBytes = bytes * 40;
    const compression: CompressionEntry[] = [
      stageOf(kd, 'prune', 'student', bytes, -0.004, 0.3, {
        sparsity: { target: 0.8, overall: 0.8, scope: 'global', layers: [] },
        nonZeroParams: Math.round(kd.params! * 0.2),
      }),
      { stage: 'low-rank', kind: 'low-rank', input: 'prune', skipped: 'The model has no Dense or 1×1 Conv2D layer to factorize.' },
      stageOf(kd, 'float16', 'prune', bytes / 2, -0.0041, 0.31),
      stageOf(kd, 'uint8', 'prune', bytes / 4, -0.009, 0.33),
      stageOf(kd, 'uint8-per-channel', 'prune', bytes / 4 + 400, -0.012, 0.36),
    ];
    summary.compression = compression;
    fs.writeFileSync(path.join(runDir, RUN_FILES.summary), JSON.stringify(summary));
  });

  after(async () => {
    await harness?.close();
  });

  it('plots accuracy against log size with the Pareto frontier, labels and hover, and accuracy against latency', async () => {
    const page = await harness.open();
    await call(page, 'deliver', { type: 'snapshot', view: 'run', runs: [new RunSource(runDir).snapshot()] } satisfies HostToWebview);
    await page.click('button[data-tab="compression"]');
    await page.waitForSelector('#compression-bytes[data-points]');
    const pts = await pointsOf(page, 'compression-bytes');
    const models = [
      { label: 'Teacher', r: summary.teacher },
      { label: 'Scratch student', r: summary.baseline! },
      { label: 'KD student', r: summary.student },
      { label: 'pruned 80%', r: summary.compression![0] as CompressionResult },
      { label: 'prune → float16', r: summary.compression![2] as CompressionResult },
      { label: 'prune → uint8', r: summary.compression![3] as CompressionResult },
      { label: 'prune → uint8-per-channel', r: summary.compression![4] as CompressionResult },
    ];
    assert.deepEqual(
      pts.map((p) => p.label),
      models.map((m) => m.label),
      'one point per model; the skipped stage has none',
    );

    // Log x: pixels per decade are the same between any two sizes; y: pixels per accuracy point the same.
    const byLabel = new Map(pts.map((p) => [p.label, p]));
    const ref = [byLabel.get('Teacher')!, byLabel.get('prune → uint8')!];
    const perDecade = (ref[0].x - ref[1].x) / Math.log10(summary.teacher.sizeBytes! / (summary.compression![3] as CompressionResult).sizeBytes!);
    assert.ok(perDecade > 50, `${perDecade} px per decade`);
    for (const m of models) {
      const p = byLabel.get(m.label)!;
      // Float rounding only: positions are computed in double and stored unrounded.
      assert.ok(
        Math.abs(p.x - ref[1].x - perDecade * Math.log10(m.r.sizeBytes! / (summary.compression![3] as CompressionResult).sizeBytes!)) < 1e-6,
        `${m.label} x`,
      );
    }
    const perAcc = (ref[1].y - ref[0].y) / (summary.teacher.accuracy - models[5].r.accuracy);
    for (const m of models) assert.ok(Math.abs(byLabel.get(m.label)!.y - ref[0].y - perAcc * (summary.teacher.accuracy - m.r.accuracy)) < 1e-6, `${m.label} y`);

    // The frontier is the Pareto set.
    const frontier = expectedFrontier(models.map((m) => ({ label: m.label, cost: m.r.sizeBytes!, accuracy: m.r.accuracy })));
    assert.deepEqual(new Set(pts.filter((p) => p.frontier).map((p) => p.label)), frontier);
    assert.ok(frontier.has('prune → uint8') && !frontier.has('prune → uint8-per-channel'));
    // Each point is labelled on the canvas.
    const texts = await call(page, 'textsDrawn', '#compression-bytes');
    for (const m of models) assert.ok(texts.includes(m.label), `label ${m.label}`);

    // Hover over the uint8 point: the tooltip names it, with its accuracy and size.
    const box = (await page.locator('#compression-bytes').boundingBox())!;
    const u8 = byLabel.get('prune → uint8')!;
    await page.mouse.move(box.x + u8.x + 1, box.y + u8.y + 1);
    await page.waitForSelector('.tooltip:not([hidden])');
    const tip = (await page.textContent('.tooltip')) ?? '';
    assert.match(tip, /prune → uint8/);
    assert.ok(tip.includes(`${(models[5].r.accuracy * 100).toFixed(2)}%`), tip);
    assert.match(tip, /-0\.90 pt vs the KD student/);
    await screenshot(page, 'compression-dark');

    // Latency: batch 1, then batch 256 on choosing it.
    const lat1 = await pointsOf(page, 'compression-latency');
    assert.equal(await page.getAttribute('#compression-latency', 'data-axis'), 'latency1');
    const fast = lat1.find((p) => p.label === 'Teacher')!;
    const slow = lat1.find((p) => p.label === 'prune → uint8-per-channel')!;
    assert.ok(summary.teacher.latencyMs!.batch1 < 0.36 ? fast.x < slow.x : fast.x > slow.x, 'linear latency axis ordered by batch-1 latency');
    await page.selectOption('#compression-latency-batch', 'latency256');
    await page.waitForSelector('#compression-latency[data-axis="latency256"]');
    const lat256 = await pointsOf(page, 'compression-latency');
    const t256 = lat256.find((p) => p.label === 'Teacher')!;
    const s256 = lat256.find((p) => p.label === 'prune → uint8-per-channel')!;
    assert.ok(summary.teacher.latencyMs!.batch256 > 0.36 / 20 ? t256.x > s256.x : t256.x < s256.x, 'batch-256 axis ordered by batch-256 latency');

    // The stage table lists the skipped stage with its reason.
    const table = (await page.textContent('table.compression')) ?? '';
    assert.match(table, /low-rank\s*skipped: The model has no Dense/);
    assert.match(table, /40\.0×/);
    // The report card gains a column per stage.
    await page.click('button[data-tab="report"]');
    const report = (await page.textContent('table.report')) ?? '';
    assert.ok(report.includes('prune → uint8'));
    assert.deepEqual(await call(page, 'cspViolations'), []);
    assert.deepEqual(await call(page, 'errors'), []);
    assert.deepEqual(
      ((await call(page, 'posted')) as WebviewToHost[]).filter((m) => m.type === 'error'),
      [],
    );
    await page.close();
  });
});
