import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyDelta, isListedRun, listSiblingRuns, RunSource } from '../../src/extension/dashboard/runSource';
import type { EpochRecord, MetricsRecord, StepRecord } from '../../src/shared/records';
import { readJson, readJsonLines, RUN_FILES, RunWriter } from '../../src/shared/runDir';
import { STEP_METRICS, type RunData } from '../../src/shared/webviewProtocol';
import { copyRealRun, tempRunsDir, writeRunDir } from '../webview/runDirs';
import { syntheticRun } from '../webview/synthetic';

/** The run's data as plain values, so two reads can be compared with deepEqual. */
const plain = (run: RunData) => ({
  ...run,
  steps: run.steps.map((c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, typeof v === 'string' ? v : Array.from(v as Float32Array)]))),
});

describe('dashboard: RunSource (a run directory as snapshot, then deltas)', () => {
  let runsDir: string;
  beforeEach(() => (runsDir = tempRunsDir()));
  afterEach(() => fs.rmSync(runsDir, { recursive: true, force: true }));

  it('reads a real engine run into per-student columns that hold exactly its records', () => {
    const dir = copyRealRun(runsDir);
    const records = readJsonLines<MetricsRecord>(path.join(dir, RUN_FILES.metrics));
    const run = new RunSource(dir).snapshot();
    assert.equal(run.status, 'completed');
    assert.equal(run.runId, readJson<{ runId: string }>(path.join(dir, RUN_FILES.status))?.runId, 'the id the engine gave the run, not its folder name');
    assert.notEqual(run.runId, path.basename(dir));
    assert.deepEqual(
      run.steps.map((c) => c.student),
      ['kd', 'baseline'],
    );
    for (const columns of run.steps) {
      const steps = records.filter((r): r is StepRecord => r.kind === 'step' && r.student === columns.student);
      assert.equal(columns.globalStep.length, steps.length);
      assert.deepEqual(
        [...columns.globalStep],
        steps.map((_, i) => i + 1),
        'steps numbered across epochs',
      );
      steps.forEach((r, i) => {
        assert.equal(columns.epoch[i], r.epoch);
        for (const m of STEP_METRICS) assert.equal(columns[m][i], Math.fround(r[m] ?? NaN), `${columns.student} ${m} at ${i}`);
      });
    }
    assert.deepEqual(
      run.epochs,
      records.filter((r): r is EpochRecord => r.kind === 'epoch'),
    );
    assert.equal(run.softLabels.length, readJsonLines(path.join(dir, RUN_FILES.softLabels)).length);
    assert.equal(run.probe?.thumbnails?.pixels.length, run.probe?.indices.length);
    assert.ok(run.summary && run.config);
    assert.equal(run.skippedLines, 0);
  });

  it('polls only what was appended; snapshot plus deltas equals a fresh snapshot', () => {
    const full = syntheticRun({ status: 'completed', epochs: 3, stepsPerEpoch: 20 });
    const dir = path.join(runsDir, 'live');
    const w = RunWriter.create(dir, full.config, { ...full.status, status: 'running', pid: process.pid });
    w.writeProbe(full.probe);
    const source = new RunSource(dir);
    let data = source.snapshot();
    assert.equal(data.status, 'running');
    assert.equal(source.poll(), undefined, 'nothing changed');

    const chunks = [full.metrics.slice(0, 25), full.metrics.slice(25, 70), full.metrics.slice(70)];
    for (const [i, chunk] of chunks.entries()) {
      w.appendMetrics(chunk);
      if (i === 0) w.appendSoftLabels(full.softLabels[0]);
      const delta = source.poll()!;
      assert.equal(
        delta.steps?.reduce((n, c) => n + c.globalStep.length, 0),
        chunk.filter((r) => r.kind === 'step').length,
      );
      data = applyDelta(data, delta);
    }
    w.writeSummary(full.summary!);
    w.writeStatus(full.status);
    const last = source.poll()!;
    assert.equal(last.status, 'completed');
    assert.equal(last.summary?.runId, full.summary!.runId);
    data = applyDelta(data, last);
    assert.deepEqual(plain(data), plain(new RunSource(dir).snapshot()));
  });

  it('sends a reset when resume rewrites the metrics, so dropped records leave the screen', () => {
    const dir = writeRunDir(path.join(runsDir, 'resumed'), syntheticRun({ epochs: 3, stepsPerEpoch: 10 }));
    const source = new RunSource(dir);
    source.snapshot();
    new RunWriter(dir).truncateAfterCheckpoint((r) => r.epoch <= 1);
    const delta = source.poll()!;
    assert.ok(delta.reset, 'a reset');
    assert.deepEqual(
      delta.reset.steps.map((c) => [c.student, c.globalStep.length]),
      [
        ['kd', 10],
        ['baseline', 10],
      ],
    );
    assert.deepEqual(
      delta.reset.epochs.map((e) => `${e.student} ${e.epoch}`),
      ['kd 1', 'baseline 1'],
    );
  });

  it('reads a running status whose engine is gone as interrupted', () => {
    const run = syntheticRun({ status: 'running', doneEpochs: 1 });
    const dir = writeRunDir(path.join(runsDir, 'gone'), { ...run, status: { ...run.status, pid: 2 ** 22 + 12345 } });
    assert.equal(new RunSource(dir).snapshot().status, 'interrupted');
  });

  it('lists the sibling runs, and only those count as runs the webview may add', () => {
    const a = writeRunDir(path.join(runsDir, 'a'), syntheticRun({ runId: 'a' }));
    const b = writeRunDir(path.join(runsDir, 'b'), syntheticRun({ runId: 'b' }));
    fs.mkdirSync(path.join(runsDir, 'not-a-run'));
    const listing = listSiblingRuns(a);
    assert.deepEqual(listing.map((r) => r.runId).sort(), ['a', 'b']);
    assert.ok(isListedRun(b, listing));
    assert.ok(isListedRun(`${b}/`, listing));
    assert.ok(!isListedRun(path.join(runsDir, 'not-a-run'), listing));
    assert.ok(!isListedRun('/etc', listing));
  });
});
