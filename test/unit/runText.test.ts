// The words and figures the Runs view, the progress notification and the status bar show.
import { strict as assert } from 'node:assert';
import { completionText, formatDuration, progressPercent, progressText, resultRows, runDescription, runLabel } from '../../src/extension/runText';
import type { Summary } from '../../src/shared/records';
import type { RunSnapshot } from '../../src/shared/runDir';
import { report } from '../support/modelReport';

const summary: Summary = {
  runId: 'fashion-20261129-224901-a1b2',
  status: 'completed',
  backend: { name: 'wasm', reason: 'SIMD', skipped: [] },
  classNames: [],
  testSamples: 10000,
  seconds: 754,
  teacher: report(0.912, null),
  student: report(0.8916, 210_000, { teacherAccuracyKeptPct: 97.75, agreement: 0.93 }),
  baseline: report(0.873, 210_000),
};

describe('run text', () => {
  it('formats durations', () => {
    assert.deepEqual([formatDuration(9.4), formatDuration(130), formatDuration(3 * 3600 + 5 * 60)], ['9s', '2m 10s', '3h 05m']);
  });

  it('describes progress with epoch, step, loss and ETA, and its percentage within the current model', () => {
    const p = { student: 'kd' as const, epoch: 3, totalEpochs: 10, step: 120, stepsPerEpoch: 480, loss: 0.53219, etaSeconds: 130 };
    assert.equal(progressText(p), 'KD student · epoch 3/10 · step 120/480 · loss 0.532 · ETA 2m 10s');
    assert.equal(progressPercent(p), 22.5);
    assert.equal(progressText({ student: 'teacher', epoch: 1, totalEpochs: 2, step: 0, stepsPerEpoch: 0 }), 'teacher · epoch 1/2');
  });

  it("with the whole run reported, gives its phase, its percentage and its ETA, not the current model's", () => {
    const p = {
      student: 'kd' as const,
      epoch: 1,
      totalEpochs: 2,
      step: 10,
      stepsPerEpoch: 40,
      etaSeconds: 20,
      run: { fraction: 0.634, etaSeconds: 95, phase: 2, phases: 3 },
    };
    assert.equal(progressText(p), 'KD student (2 of 3) · epoch 1/2 · step 10/40 · run 63% · ETA 1m 35s');
    assert.equal(progressPercent(p), 63.4);
  });

  it('labels and describes runs by status', () => {
    const base: RunSnapshot = { runId: 'fashion-20261129-224901-a1b2', dir: '/r', status: 'completed', summary };
    assert.equal(runLabel(base), 'fashion');
    const startedAt = (hour: number) => ({
      ...base,
      statusFile: { status: 'completed' as const, runId: base.runId, startedAt: new Date(2026, 10, 30, hour, 12).toISOString(), updatedAt: '' },
    });
    assert.equal(runLabel(startedAt(0)), 'fashion · Nov 30, 00:12', 'just after midnight (local time)');
    assert.equal(runLabel(startedAt(23)), 'fashion · Nov 30, 23:12');
    assert.equal(runDescription(base), 'KD 89.2% · teacher 91.2% · scratch 87.3%');
    assert.equal(
      runDescription({
        ...base,
        status: 'failed',
        summary: undefined,
        statusFile: { status: 'failed', runId: base.runId, startedAt: '', updatedAt: '', reason: 'NaN loss at step 3.\nmore' },
      }),
      'failed: NaN loss at step 3.',
    );
    assert.equal(
      runDescription({
        ...base,
        status: 'stopped',
        summary: undefined,
        statusFile: { status: 'stopped', runId: base.runId, startedAt: '', updatedAt: '', epoch: 4, student: 'baseline', totalEpochs: 5 },
      }),
      'stopped in scratch student epoch 4/5',
    );
  });

  it('lists teacher, KD student and baseline results, with what KD adds', () => {
    const rows = resultRows(summary);
    assert.deepEqual(
      rows.map((r) => [r.label, r.description]),
      [
        ['Teacher', '91.2% · logits'],
        ['KD student', '89.2% · 210k params · 97.8% of teacher · agrees 93.0%'],
        ['Scratch student', '87.3% · 210k params · KD +1.9 pts'],
      ],
    );
    assert.equal(completionText(summary), 'KD student 89.2%, teacher 91.2%, scratch 87.3% on 10,000 test samples, in 12m 34s.');
  });
});
