/**
 * End-to-end engine runs on real Fashion-MNIST slices: the KD recipe, the run directory contract, stop/resume,
 * determinism, failure handling and memory.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { EpochRecord, MetricsRecord, SoftLabelRecord, StatusFile, StepRecord, Summary } from '../../src/shared/records';
import { readJson, readJsonLines } from '../../src/shared/runDir';
import { encodeNpy } from '../../src/engine/data';
import { saveLayersModel } from '../../src/engine/models/modelFiles';
import { resumeEngine, runEngine, smallConfig, tempDir } from './helpers';

/** A linear 28×28 → `classes` model saved as a tfjs model.json, for student-file cases. */
async function saveLinearStudent(dir: string, classes: number): Promise<string> {
  await tf.ready();
  const m = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [28, 28, 1] }), tfl.layers.dense({ units: classes })] });
  await saveLayersModel(m, dir);
  m.dispose();
  return dir;
}

const metricsOf = (runDir: string) => readJsonLines<MetricsRecord>(path.join(runDir, 'metrics.jsonl'));
const steps = (records: MetricsRecord[], student = 'kd') => records.filter((r): r is StepRecord => r.kind === 'step' && r.student === student);
const epochs = (records: MetricsRecord[], student = 'kd') => records.filter((r): r is EpochRecord => r.kind === 'epoch' && r.student === student);

describe('engine: distillation on real Fashion-MNIST', function () {
  this.timeout(600_000);
  const dir = tempDir();

  let baselineRun: Awaited<ReturnType<typeof runEngine>>;
  before(async () => {
    baselineRun = await runEngine(smallConfig(dir, { compare: { baseline: true } }));
  });

  it('completes and writes the run-directory contract', () => {
    const { finished, runDir } = baselineRun;
    assert.equal(finished.status, 'completed', finished.reason);
    for (const f of [
      'config.json',
      'status.json',
      'metrics.jsonl',
      'softlabels.jsonl',
      'probe.json',
      'summary.json',
      'student/model.json',
      'student/weights.bin',
      'baseline/model.json',
    ])
      assert.ok(fs.existsSync(path.join(runDir, f)), `${f} is missing`);
    const status = readJson<StatusFile>(path.join(runDir, 'status.json'))!;
    assert.equal(status.status, 'completed');
    const summary = readJson<Summary>(path.join(runDir, 'summary.json'))!;
    assert.equal(summary.status, 'completed');
    assert.equal(summary.backend.name, 'wasm');
    assert.equal(summary.testSamples, 1000);
    for (const key of ['accuracy', 'macroF1', 'params', 'sizeBytes', 'klToTeacher', 'agreement', 'ece'] as const)
      assert.equal(typeof summary.student[key], 'number', key);
    assert.equal(summary.student.confusion.length, 10);
    // Sizes for every model, the preset teacher's (a cached model.json and its shard) too.
    for (const m of [summary.teacher, summary.student, summary.baseline!])
      assert.ok(m.sizeBytes! > 0 && m.diskBytes! > m.sizeBytes! && m.gzipBytes! > 0, JSON.stringify(m));
  });

  it('teacher and students learn far above chance, and KD agrees with the teacher more than scratch', () => {
    const s = readJson<Summary>(path.join(baselineRun.runDir, 'summary.json'))!;
    assert.ok(s.teacher.accuracy > 0.7, `teacher accuracy ${s.teacher.accuracy}`);
    assert.ok(s.student.accuracy > 0.6, `KD student accuracy ${s.student.accuracy}`);
    assert.ok(s.baseline!.accuracy > 0.5, `baseline accuracy ${s.baseline!.accuracy}`);
    assert.ok(s.student.agreement! > s.baseline!.agreement!, `KD agreement ${s.student.agreement} vs scratch ${s.baseline!.agreement}`);
    assert.ok(s.student.klToTeacher! < s.baseline!.klToTeacher!, `KD KL ${s.student.klToTeacher} vs scratch ${s.baseline!.klToTeacher}`);
  });

  it('writes step records with the KD loss decomposed, and epoch records for both students', () => {
    const records = metricsOf(baselineRun.runDir);
    const kd = steps(records);
    assert.equal(kd.length, 2 * Math.ceil(2700 / 64));
    for (const r of kd) {
      // The parts are float32 scalars read back separately; T² · kdUnscaled recomputed in float64 differs from the
      // float32 product by ≤ 2 ulp (1.2e-7 relative). 1e-3 only catches a wrong factor, not rounding.
      assert.ok(Math.abs(r.kd - r.temperature ** 2 * r.kdUnscaled) < 1e-3 * Math.max(1, r.kd), 'kd = T² · kdUnscaled');
      assert.ok(Math.abs(r.loss - (r.alpha * r.kd + (1 - r.alpha) * r.ce)) < 1e-3 * Math.max(1, r.loss), 'loss = α·kd + (1−α)·ce');
    }
    assert.equal(
      steps(records, 'baseline').every((r) => r.alpha === 0),
      true,
    );
    assert.deepEqual(
      epochs(records).map((e) => e.epoch),
      [1, 2],
    );
    assert.deepEqual(
      epochs(records, 'baseline').map((e) => e.epoch),
      [1, 2],
    );
    const soft = readJsonLines<SoftLabelRecord>(path.join(baselineRun.runDir, 'softlabels.jsonl'));
    assert.equal(soft[0].kind, 'teacher');
    assert.equal(soft[0].logits.length, 20);
    // A single teacher has one record, as before lists of teachers wrote one per member.
    assert.deepEqual(Object.keys(soft[0]), ['kind', 'logits']);
    assert.equal(soft.filter((r) => r.kind === 'teacher').length, 1);
    assert.equal(soft.filter((r) => r.kind === 'student').length, 4);
  });

  it('reuses the cached teacher: a second run neither trains the teacher nor recomputes its logits', async () => {
    const again = await runEngine(smallConfig(dir, { training: { epochs: 1, batchSize: 64 } }));
    assert.equal(again.finished.status, 'completed', again.finished.reason);
    const phases = again.messages.filter((m) => m.type === 'phase').map((m) => (m as { phase: string }).phase);
    assert.ok(!phases.includes('teacher-training'), `phases: ${phases}`);
    assert.ok(!phases.includes('teacher-logits'), `phases: ${phases}`);
  });

  it('is deterministic: the same seed on the same backend gives the same metrics', async () => {
    const cfg = () => smallConfig(dir, { training: { epochs: 1, batchSize: 64 } });
    const a = await runEngine(cfg());
    const b = await runEngine(cfg());
    const la = steps(metricsOf(a.runDir)).map((r) => r.loss);
    const lb = steps(metricsOf(b.runDir)).map((r) => r.loss);
    assert.deepEqual(la, lb);
    assert.deepEqual(epochs(metricsOf(a.runDir))[0].val, epochs(metricsOf(b.runDir))[0].val);
  });

  it('stops at a step boundary with a checkpoint, and resume continues to the same result as an uninterrupted run', async () => {
    const cfg = () => smallConfig(dir, { training: { epochs: 2, batchSize: 64 } });
    const full = await runEngine(cfg());
    // Stopped at a fixed point, the KD student's first epoch end, so the stop lands in epoch 2 however fast the
    // machine: step records come in 100 ms batches, and a count of them was overtaken by a whole fast epoch.
    const stopped = await runEngine(cfg(), (engine, m) => {
      if (m.type === 'epoch' && m.record.student === 'kd') engine.requestStop();
    });
    assert.equal(stopped.finished.status, 'stopped');
    assert.equal(readJson<StatusFile>(path.join(stopped.runDir, 'status.json'))!.status, 'stopped');
    assert.ok(!fs.existsSync(path.join(stopped.runDir, 'summary.json')));
    assert.ok(fs.existsSync(path.join(stopped.runDir, 'checkpoints', 'kd', 'state.json')));
    const secondsBeforeStop = readJson<StatusFile>(path.join(stopped.runDir, 'status.json'))!.activeSeconds!;
    assert.ok(secondsBeforeStop > 0);
    const resumed = await resumeEngine(stopped.runDir);
    assert.equal(resumed.finished.status, 'completed', resumed.finished.reason);
    const a = steps(metricsOf(full.runDir));
    const b = steps(metricsOf(stopped.runDir));
    assert.equal(b.length, a.length, 'every step recorded once');
    assert.deepEqual(
      b.map((r) => [r.epoch, r.step]),
      a.map((r) => [r.epoch, r.step]),
    );
    // Exact: the optimizer's state, β powers included, is restored bit for bit (test/engine/resume.test.ts).
    assert.deepEqual(
      b.map((r) => r.loss),
      a.map((r) => r.loss),
    );
    const sa = readJson<Summary>(path.join(full.runDir, 'summary.json'))!;
    const sb = readJson<Summary>(path.join(stopped.runDir, 'summary.json'))!;
    assert.equal(sb.student.accuracy, sa.student.accuracy);
    assert.ok(sb.seconds > secondsBeforeStop, 'the summary counts the time before the stop too');
  });

  it('keeps the number of tensors flat across epochs', async () => {
    const counts: number[] = [];
    const r = await runEngine(smallConfig(dir, { training: { epochs: 4, batchSize: 128 } }), (_e, m) => {
      if (m.type === 'epoch') counts.push(tf.memory().numTensors);
    });
    assert.equal(r.finished.status, 'completed', r.finished.reason);
    assert.equal(counts.length, 4);
    assert.ok(
      counts.slice(1).every((c) => c === counts[1]),
      `tensors after each epoch: ${counts}`,
    );
  });
});

describe('engine: the loss weights', function () {
  this.timeout(300_000);
  const dir = tempDir();

  it('α = 0 trains exactly like the scratch baseline (CE only, same seed and initial weights)', async () => {
    const r = await runEngine(smallConfig(dir, { distillation: { alpha: 0 }, compare: { baseline: true }, training: { epochs: 1, batchSize: 64 } }));
    assert.equal(r.finished.status, 'completed', r.finished.reason);
    const records = metricsOf(r.runDir);
    assert.deepEqual(
      steps(records).map((s) => s.loss),
      steps(records, 'baseline').map((s) => s.loss),
    );
  });

  // That the labels get no gradient at α = 1 is checked on the loss itself in losses.test.ts.
  it("α = 1 trains on the teacher alone: every step's loss is its KD term", async () => {
    const r = await runEngine(smallConfig(dir, { distillation: { alpha: 1 }, training: { epochs: 1, batchSize: 64 } }));
    assert.equal(r.finished.status, 'completed', r.finished.reason);
    const kd = steps(metricsOf(r.runDir));
    // loss = 1 · kd + 0 · ce in float32: exactly kd up to one rounding (6e-8 relative); 1e-5 is far above that.
    assert.ok(kd.length > 0 && kd.every((s) => Math.abs(s.loss - s.kd) < 1e-5 * Math.max(1, s.kd)));
  });
});

describe('engine: failures are marked failed, with the reason', function () {
  this.timeout(300_000);
  const dir = tempDir();

  it('a NaN loss stops the run with a clear message and status failed, and no summary', async () => {
    // Features near float32's maximum overflow the first layer to Infinity, and the loss to NaN.
    const rows = 64;
    const features = 32;
    const x = new Float32Array(rows * features).fill(3e38);
    const y = new Int32Array(rows).map((_, i) => i % 2);
    const logits = new Float32Array(rows * 2).map((_, i) => (i % 2 ? 1 : -1));
    const files = { x: path.join(dir, 'x.npy'), y: path.join(dir, 'y.npy'), t: path.join(dir, 't.npy') };
    fs.writeFileSync(files.x, encodeNpy(x, [rows, features]));
    fs.writeFileSync(files.y, encodeNpy(y, [rows]));
    fs.writeFileSync(files.t, encodeNpy(logits, [rows, 2]));
    const r = await runEngine(
      smallConfig(dir, {
        data: { format: 'npy', train: { x: files.x, y: files.y }, test: { x: files.x, y: files.y }, normalize: 'none', validationSplit: 0.25 },
        teacher: { logits: { train: files.t, test: files.t } },
        training: { epochs: 1, batchSize: 16 },
      }),
    );
    assert.equal(r.finished.status, 'failed');
    assert.match(r.finished.reason!, /loss became (NaN|Infinity|-Infinity) at epoch 1, step 1/);
    assert.match(r.finished.reason!, /learningRate/);
    assert.equal(readJson<StatusFile>(path.join(r.runDir, 'status.json'))!.status, 'failed');
    assert.ok(!fs.existsSync(path.join(r.runDir, 'summary.json')));
  });

  it('a missing data file fails the run, naming the path', async () => {
    const cfg = smallConfig(dir);
    if (cfg.data.format === 'idx') cfg.data.train.images = path.join(dir, 'nope-images.gz');
    const r = await runEngine(cfg);
    assert.equal(r.finished.status, 'failed');
    assert.match(r.finished.reason!, /nope-images\.gz/);
  });

  it('a student whose class count differs from the data is refused, naming both sides', async () => {
    const studentDir = await saveLinearStudent(path.join(dir, 'student3'), 3);
    const r = await runEngine(smallConfig(dir, { student: { model: path.join(studentDir, 'model.json') } }));
    assert.equal(r.finished.status, 'failed');
    assert.match(r.finished.reason!, /outputs 3 classes, but the data and teacher have 10/);
  });

  it('a model.json whose weight shard is missing is refused, naming the shard', async () => {
    const studentDir = await saveLinearStudent(path.join(dir, 'student-noshard'), 10);
    fs.rmSync(path.join(studentDir, 'weights.bin'));
    const r = await runEngine(smallConfig(dir, { student: { model: path.join(studentDir, 'model.json') } }));
    assert.equal(r.finished.status, 'failed');
    assert.match(r.finished.reason!, /weight shard "weights\.bin".*missing/);
  });
});
