/**
 * Resume is exact: a run stopped in any phase (teacher training, KD student, scratch baseline) and resumed ends with
 * the same summary, and the same step losses, bit for bit, as the same run uninterrupted. Each stopped run gets a
 * cache of its own, so the teacher cannot be found ready-made in the cache of the uninterrupted run.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineToHost } from '../../src/shared/protocol';
import type { MetricsRecord, StatusFile, Summary, TrainedRole } from '../../src/shared/records';
import { readJson, readJsonLines } from '../../src/shared/runDir';
import { resumeEngine, runEngine, smallConfig, tempDir } from './helpers';

const metricsOf = (runDir: string) => readJsonLines<MetricsRecord>(path.join(runDir, 'metrics.jsonl'));

/**
 * The summary without what legitimately differs between two runs: the id, the wall time, and the on-disk and gzipped size of a
 * model folder (model.json names layers by a per-process counter, so a model saved by a resumed process gzips to a
 * few bytes more or less; its weights are compared through every loss and metric).
 */
function comparable(runDir: string): unknown {
  const { runId: _id, seconds: _s, ...rest } = readJson<Summary>(path.join(runDir, 'summary.json'))!;
  return JSON.parse(JSON.stringify(rest, (key, value: unknown) => (key === 'gzipBytes' || key === 'diskBytes' ? undefined : value)));
}

describe('engine: resume is exact, for a stop in every phase', function () {
  this.timeout(900_000);
  const dir = tempDir();
  // 2,700 training rows at batch 64: 43 steps an epoch; the teacher trains 3 epochs, each student 2.
  const config = (cache: string) =>
    smallConfig(dir, {
      teacher: { preset: 'mlp', hidden: [64], train: { epochs: 3, batchSize: 64 } },
      compare: { baseline: true },
      output: { runsDir: path.join(dir, 'runs'), cacheDir: path.join(dir, cache) },
    });

  let full: Awaited<ReturnType<typeof runEngine>>;
  before(async () => {
    full = await runEngine(config('cache-full'));
    assert.equal(full.finished.status, 'completed', full.finished.reason);
  });

  it("the uninterrupted run records the teacher's training, and one run-wide progress that only moves forward", () => {
    const teacherSteps = metricsOf(full.runDir).filter((r) => r.kind === 'step' && r.student === 'teacher');
    assert.equal(teacherSteps.length, 3 * 43);
    const teacherEpochs = metricsOf(full.runDir).filter((r) => r.kind === 'epoch' && r.student === 'teacher');
    assert.deepEqual(
      teacherEpochs.map((r) => r.epoch),
      [1, 2, 3],
    );
    const runs = full.messages.flatMap((m) => ((m.type === 'steps' || m.type === 'epoch') && m.progress.run ? [m.progress.run] : []));
    assert.ok(runs.length > 10);
    assert.deepEqual([...new Set(runs.map((r) => r.phases))], [3]);
    assert.deepEqual([...new Set(runs.map((r) => r.phase))], [1, 2, 3]);
    for (let i = 1; i < runs.length; i++)
      assert.ok(runs[i].fraction >= runs[i - 1].fraction, `fraction went back at message ${i}: ${runs[i - 1].fraction} → ${runs[i].fraction}`);
    assert.equal(runs[runs.length - 1].fraction, 1);
    // The first run of the config in its runs directory is named after it (shared/runName.ts).
    assert.equal(readJson<{ runName?: string }>(path.join(full.runDir, 'config.json'))!.runName, 'test');
  });

  for (const phase of ['teacher', 'kd', 'baseline'] as TrainedRole[]) {
    it(`a stop during the ${phase} training, then resume, gives the uninterrupted run's summary and losses`, async () => {
      // Stopped as the phase's first epoch ends, so the stop lands at its second epoch's first step on any machine.
      // A count of step records would not: they arrive in batches flushed every 100 ms, so on a fast machine an
      // epoch is one batch, and a count reached at the last epoch's batch stops the next phase instead.
      const stopped = await runEngine(config(`cache-${phase}`), (engine, m: EngineToHost) => {
        if (m.type === 'epoch' && m.record.student === phase && m.record.epoch === 1) engine.requestStop();
      });
      assert.equal(stopped.finished.status, 'stopped', stopped.finished.reason);
      // Same config as the runs before it: numbered, so the Runs view tells them apart.
      assert.match(readJson<{ runName?: string }>(path.join(stopped.runDir, 'config.json'))!.runName ?? '', /^test #\d$/);
      const status = readJson<StatusFile>(path.join(stopped.runDir, 'status.json'))!;
      assert.equal(status.status, 'stopped');
      assert.ok(fs.existsSync(path.join(stopped.runDir, 'checkpoints', phase, 'state.json')), `no ${phase} checkpoint`);
      if (phase === 'teacher') assert.match(stopped.finished.reason ?? '', /checkpoint is kept, and resume continues it/);

      const resumed = await resumeEngine(stopped.runDir);
      assert.equal(resumed.finished.status, 'completed', resumed.finished.reason);
      const [a, b] = [metricsOf(full.runDir), metricsOf(stopped.runDir)];
      const losses = (rs: MetricsRecord[]) => rs.flatMap((r) => (r.kind === 'step' ? [`${r.student} ${r.epoch}.${r.step} ${r.loss}`] : []));
      assert.deepEqual(losses(b), losses(a), 'every step once, with the same loss');
      const vals = (rs: MetricsRecord[]) => rs.flatMap((r) => (r.kind === 'epoch' ? [{ student: r.student, epoch: r.epoch, val: r.val, train: r.train }] : []));
      assert.deepEqual(vals(b), vals(a));
      assert.deepEqual(comparable(stopped.runDir), comparable(full.runDir));
      assert.ok(!fs.existsSync(path.join(stopped.runDir, 'checkpoints', 'teacher')), 'the teacher checkpoint is dropped once the teacher is cached');
    });
  }
});
