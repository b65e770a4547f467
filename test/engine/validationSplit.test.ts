/** `data.validationSplit: 0`: every training row trains, epochs carry no validation metrics, and the run completes. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EpochRecord, MetricsRecord, ProbeInfo, StatusFile, Summary } from '../../src/shared/records';
import { readJson, readJsonLines } from '../../src/shared/runDir';
import { runEngine, smallConfig, tempDir } from './helpers';

describe('engine: data.validationSplit 0', function () {
  this.timeout(600_000);

  it('trains on every row, writes epochs without validation, says so once, and reports on the test split', async () => {
    const dir = tempDir();
    const config = smallConfig(dir, { training: { epochs: 2, batchSize: 64 }, compare: { baseline: true } });
    config.data.validationSplit = 0;
    const r = await runEngine(config);
    assert.equal(r.finished.status, 'completed', r.finished.reason);
    const epochs = readJsonLines<MetricsRecord>(path.join(r.runDir, 'metrics.jsonl')).filter(
      (m): m is EpochRecord => m.kind === 'epoch' && m.student !== 'teacher',
    );
    assert.ok(
      readJsonLines<MetricsRecord>(path.join(r.runDir, 'metrics.jsonl')).every((m) => m.kind !== 'epoch' || m.val === undefined),
      "the teacher's epochs have no validation metrics either",
    );
    assert.equal(epochs.length, 4, 'two epochs for each student');
    assert.ok(
      epochs.every((e) => e.val === undefined && Number.isFinite(e.train.loss)),
      'no validation metrics, train metrics present',
    );
    // All 3000 training rows train: ceil(3000 / 64) steps an epoch.
    const steps = readJsonLines<MetricsRecord>(path.join(r.runDir, 'metrics.jsonl')).filter((m) => m.kind === 'step' && m.student === 'kd');
    assert.equal(steps.length, 2 * Math.ceil(3000 / 64));
    const status = readJson<StatusFile>(path.join(r.runDir, 'status.json'))!;
    assert.equal(status.status, 'completed');
    assert.equal(status.validationRows, 0);
    assert.match(status.note!, /data\.validationSplit is 0/);
    const notes = r.messages.filter((m) => m.type === 'log' && /validationSplit is 0/.test(m.message));
    assert.equal(notes.length, 1, 'said once in the log');
    const probe = readJson<ProbeInfo>(path.join(r.runDir, 'probe.json'))!;
    assert.equal(probe.split, 'train');
    assert.equal(probe.labels.length, 20);
    const summary = readJson<Summary>(path.join(r.runDir, 'summary.json'))!;
    assert.equal(summary.testSamples, 1000);
    assert.ok(summary.student.accuracy > 0.5, `KD student accuracy ${summary.student.accuracy}`);
    assert.ok(fs.existsSync(path.join(r.runDir, 'checkpoints', 'kd', 'state.json')));
  });
});
