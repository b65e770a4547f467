/**
 * Feature (hint) distillation end to end on real Fashion-MNIST: a seeded cnn-small preset teacher and a cnn-small
 * student (each with its own seed-derived weights) with one FitNets pair (conv2 → conv2, 1×1 adapter) and one
 * attention pair (pool1 → pool1). The step records carry the feature term and its parts, the term falls, the adapter
 * trains and lives in the checkpoints (not in the saved student), and a stopped run resumes to the uninterrupted
 * run's losses bit for bit. Then the errors: unknown layers (both sides), spatial, rank and loss mismatches, and
 * teachers without layers; and a list of teachers, each pair naming its teacher.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineToHost } from '../../src/shared/protocol';
import type { MetricsRecord, StepRecord, Summary } from '../../src/shared/records';
import { readJson, readJsonLines } from '../../src/shared/runDir';
import { summaryTable } from '../../src/engine/cli';
import { fashionMnistData, FASHION_CLASS_NAMES } from '../fixtures/fashionMnist';
import { resumeEngine, runEngine, smallConfig, tempDir } from './helpers';

const kdSteps = (runDir: string) =>
  readJsonLines<MetricsRecord>(path.join(runDir, 'metrics.jsonl')).filter((r): r is StepRecord => r.kind === 'step' && r.student === 'kd');
const extraOf = (runDir: string) => fs.readFileSync(path.join(runDir, 'checkpoints', 'kd', 'extra.bin'));

const TEACHER = { preset: 'cnn-small', train: { epochs: 1, batchSize: 64 } };
const MLP_TEACHER = { preset: 'mlp', hidden: [32], train: { epochs: 1, batchSize: 64 } };
const PAIRS = [
  { teacher: 'teacher_conv2', student: 'student_conv2', loss: 'mse' },
  { teacher: 'teacher_pool1', student: 'student_pool1', loss: 'attention' },
];

describe('engine: feature distillation (distillation.features)', function () {
  this.timeout(900_000);
  const dir = tempDir();
  // 1,200 training rows (1,080 after the 10% validation split) at batch 64: 17 steps an epoch.
  const config = (features: unknown[] = PAIRS, extra: Record<string, unknown> = {}) =>
    smallConfig(dir, {
      data: fashionMnistData({ train: 1200, test: 300 }, { classNames: FASHION_CLASS_NAMES }),
      teacher: TEACHER,
      student: { preset: 'cnn-small' },
      distillation: { temperature: 4, alpha: 0.9, features },
      training: { epochs: 2, batchSize: 64, learningRate: 0.002 },
      engine: { backend: 'wasm', threads: 2 },
      ...extra,
    });

  let full: Awaited<ReturnType<typeof runEngine>>;
  before(async () => {
    full = await runEngine(config());
    assert.equal(full.finished.status, 'completed', full.finished.reason);
  });

  it('each step records the feature term Σ weight·part and each pair\u2019s part; the loss includes it', () => {
    const steps = kdSteps(full.runDir);
    assert.equal(steps.length, 2 * 17);
    for (const s of steps) {
      assert.ok(s.feature !== undefined && s.featureParts?.length === 2, `step ${s.epoch}.${s.step}: ${JSON.stringify(s)}`);
      const [mse, at] = s.featureParts!;
      assert.ok(mse > 0 && at > 0, `parts ${mse}, ${at}`);
      // Default weights 1 (mse) and 500 (attention): float32 sums of two terms, 1e-6 relative; a wrong weight is off by ≫.
      assert.ok(Math.abs(s.feature! - (mse + 500 * at)) <= 1e-5 * s.feature!, `feature ${s.feature} vs ${mse} + 500·${at}`);
      const kdCe = s.alpha * s.kd + (1 - s.alpha) * s.ce;
      assert.ok(Math.abs(s.loss - (kdCe + s.feature!)) <= 1e-5 * s.loss, `loss ${s.loss} vs α·kd + (1−α)·ce + feature = ${kdCe + s.feature!}`);
    }
  });

  it('the feature term falls as the student and adapter learn, and the epoch record carries its mean', () => {
    const steps = kdSteps(full.runDir);
    const mean = (xs: StepRecord[]) => xs.reduce((a, s) => a + s.feature!, 0) / xs.length;
    const [first, last] = [mean(steps.slice(0, 4)), mean(steps.slice(-4))];
    // The seeded run falls by far more than this; 0.8 leaves room for batch noise while any stalled term fails it.
    assert.ok(last < 0.8 * first, `feature term: first steps ${first}, last steps ${last}`);
    const epochs = readJsonLines<MetricsRecord>(path.join(full.runDir, 'metrics.jsonl')).filter((r) => r.kind === 'epoch' && r.student === 'kd');
    assert.equal(epochs.length, 2);
    for (const e of epochs) assert.ok(e.kind === 'epoch' && typeof e.train.feature === 'number' && e.train.feature > 0);
  });

  it('runs on one thread with a logged reason, and the saved student holds no adapter', () => {
    const logs = full.messages.flatMap((m) => (m.type === 'log' ? [m.message] : []));
    assert.ok(
      logs.some((l) => /^Threads: 1 \(feature distillation/.test(l)),
      logs.filter((l) => l.startsWith('Threads')).join('\n'),
    );
    assert.ok(logs.some((l) => l.includes('teacher_conv2 → student_conv2 (mse, weight 1); teacher_pool1 → student_pool1 (attention, weight 500)')));
    // The adapter (32×32 kernel + 32 biases = 1,056 floats, 4,224 bytes) is in the checkpoint only.
    assert.equal(extraOf(full.runDir).length, (32 * 32 + 32) * 4);
    const summary = readJson<Summary>(path.join(full.runDir, 'summary.json'))!;
    const student = JSON.parse(fs.readFileSync(path.join(full.runDir, 'student', 'model.json'), 'utf8')) as {
      weightsManifest: { weights: { name: string }[] }[];
    };
    const names = student.weightsManifest.flatMap((g) => g.weights.map((w) => w.name));
    assert.ok(
      names.every((n) => !n.includes('adapter')),
      names.join(', '),
    );
    // cnn-small on 28×28×1, 10 classes: 160 + 4,640 + 200,832 + 1,290 weights.
    assert.equal(summary.student.params, 206_922);
    // The summary and the CLI's table name the pairs, their resolved weights and the term's first and last epoch.
    const f = summary.features!;
    assert.deepEqual(
      f.pairs.map((p) => p.weight),
      [1, 500],
    );
    assert.ok(f.lastEpoch! < f.firstEpoch!, `feature term by epoch: ${f.firstEpoch} → ${f.lastEpoch}`);
    assert.match(
      summaryTable(summary),
      /\nFeature distillation: teacher_conv2 → student_conv2 \(mse, weight 1\); teacher_pool1 → student_pool1 \(attention, weight 500\); feature term \d+\.\d{4} in the first epoch, \d+\.\d{4} in the last\.\n/,
    );
  });

  it('a stop mid-KD, then resume, continues the adapter from the checkpoint: the same losses as the uninterrupted run', async () => {
    let seen = 0;
    const stopped = await runEngine(config(), (engine, m: EngineToHost) => {
      if (m.type !== 'steps') return;
      seen += m.records.filter((r) => r.student === 'kd').length;
      if (seen >= 20) engine.requestStop();
    });
    assert.equal(stopped.finished.status, 'stopped', stopped.finished.reason);
    const adapterAtStop = extraOf(stopped.runDir);
    const resumed = await resumeEngine(stopped.runDir);
    assert.equal(resumed.finished.status, 'completed', resumed.finished.reason);
    // The adapter moved on after the stop (it trains), and ends where the uninterrupted run's did, bit for bit.
    assert.ok(!adapterAtStop.equals(extraOf(stopped.runDir)), 'the adapter did not change after the stop');
    assert.ok(extraOf(stopped.runDir).equals(extraOf(full.runDir)), 'final adapters differ from the uninterrupted run');
    const pick = (s: StepRecord) => [s.epoch, s.step, s.loss, s.feature, ...(s.featureParts ?? [])];
    assert.deepEqual(kdSteps(stopped.runDir).map(pick), kdSteps(full.runDir).map(pick));
  });

  describe('errors name the field and the fix', () => {
    const failure = async (features: unknown[], extra?: Record<string, unknown>) => {
      const run = await runEngine(config(features, extra));
      assert.equal(run.finished.status, 'failed');
      return run.finished.reason ?? '';
    };

    it('an unknown teacher layer lists the teacher\u2019s layers; an unknown student layer lists the student\u2019s', async () => {
      const t = await failure([{ teacher: 'conv9', student: 'student_conv2' }]);
      assert.match(
        t,
        /distillation\.features\[0\]\.teacher: the teacher .*model\.json has no layer named "conv9"\. Available: .*"teacher_conv1", "teacher_pool1", "teacher_conv2"/,
      );
      const s = await failure([{ teacher: 'teacher_conv2', student: 'conv9' }]);
      assert.match(
        s,
        /distillation\.features\[0\]\.student: the student model has no layer named "conv9"\. Available: .*"student_conv1", "student_pool1", "student_conv2", "student_pool2", "student_flatten", "student_dense1", "student_logits"/,
      );
    });

    it('spatial sizes that differ name the pair and both shapes; so do ranks that differ, and attention on vectors', async () => {
      const spatial = await failure([{ teacher: 'teacher_pool2', student: 'student_conv1' }]);
      assert.match(
        spatial,
        /distillation\.features\[0\] \(teacher "teacher_pool2" \[7, 7, 32\], student "student_conv1" \[28, 28, 16\]\): the spatial sizes differ \(student 28×28, teacher 7×7\)/,
      );
      const rank = await failure([{ teacher: 'teacher_dense1', student: 'student_conv2' }]);
      assert.match(
        rank,
        /distillation\.features\[0\] \(teacher "teacher_dense1" \[128\], student "student_conv2" \[14, 14, 32\]\): the ranks differ \(student 3-D per sample, teacher 1-D\)/,
      );
      const attention = await failure([{ teacher: 'teacher_dense1', student: 'student_dense1', loss: 'attention' }]);
      assert.match(attention, /attention transfer compares spatial attention maps, so both layers must output feature maps/);
    });

    it('precomputed logits, or a teacherIndex beyond the list, are refused before any work', async () => {
      const logitsFile = path.join(dir, 'train-logits.npy');
      fs.writeFileSync(logitsFile, '');
      const logits = await failure(PAIRS, { teacher: { logits: { train: logitsFile, test: logitsFile } } });
      assert.match(logits, /teacher\.logits gives precomputed logits only/);
      const beyond = await failure([{ ...PAIRS[0], teacherIndex: 2 }], { teacher: [TEACHER, MLP_TEACHER] });
      assert.match(beyond, /distillation\.features\[0\]\.teacherIndex is 2, but the list has 2 teachers \(0 to 1\)/);
    });
  });

  it('with a list of teachers, each pair distils from the teacher it names (teacherIndex)', async () => {
    // Teacher 0 is the cached cnn-small of the runs above; teacher 1 an MLP (seed + 1) with a 32-wide hidden layer.
    const run = await runEngine(
      config([PAIRS[0], { teacher: 'teacher_dense1', student: 'student_dense1', teacherIndex: 1 }], {
        teacher: [TEACHER, MLP_TEACHER],
        training: { epochs: 1, batchSize: 64, learningRate: 0.002 },
      }),
    );
    assert.equal(run.finished.status, 'completed', run.finished.reason);
    const logs = run.messages.flatMap((m) => (m.type === 'log' ? [m.message] : []));
    assert.ok(
      logs.some((l) => l.includes('teacher_conv2 of teacher 0 → student_conv2 (mse, weight 1); teacher_dense1 of teacher 1 → student_dense1 (mse, weight 1)')),
      logs.join('\n'),
    );
    // Two adapters: 32×32 + 32 for conv2, and 128 → 32 (4,096 + 32) for the dense pair.
    assert.equal(extraOf(run.runDir).length, (32 * 32 + 32 + 128 * 32 + 32) * 4);
    const steps = kdSteps(run.runDir);
    assert.equal(steps.length, 17);
    assert.ok(steps.every((s) => s.featureParts?.length === 2 && s.featureParts.every((v) => v > 0)));
    const summary = readJson<Summary>(path.join(run.runDir, 'summary.json'))!;
    assert.deepEqual(
      summary.features!.pairs.map((p) => p.teacherIndex),
      [0, 1],
    );
  });
});
