/**
 * The `compress` block in real runs on Fashion-MNIST slices: prune → low-rank → quantize, each stage's folder and
 * summary row, the saved pruned weights holding exactly the reported zeros, a stop during the pruning fine-tune
 * resumed to the end, and a stage that cannot apply skipped with a note.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { isCompressionSkipped, type CompressionResult, type Summary } from '../../src/shared/records';
import { readJson } from '../../src/shared/runDir';
import { summaryTable } from '../../src/engine/cli';
import { loadStudentModel, saveLayersModel } from '../../src/engine/models/modelFiles';
import { fashionMnistData } from '../fixtures/fashionMnist';
import { removeTempDir } from '../support/tempDirs';
import { resumeEngine, runEngine, smallConfig, tempDir } from './helpers';

const summaryOf = (runDir: string) => readJson<Summary>(path.join(runDir, 'summary.json'))!;
const stage = (s: Summary, name: string) => s.compression!.find((c) => c.stage === name) as CompressionResult;

describe('engine: compression stages on real Fashion-MNIST', function () {
  this.timeout(900_000);
  const dir = tempDir('distill-compress-');
  after(() => removeTempDir(dir));
  const compress = { prune: { sparsity: 0.6, epochs: 1 }, lowRank: { energy: 0.9, epochs: 1 }, quantize: ['float16', 'uint8', 'uint8-per-channel'] };

  let run: Awaited<ReturnType<typeof runEngine>>;
  before(async () => {
    run = await runEngine(smallConfig(dir, { student: { preset: 'mlp', hidden: [64] }, compress }));
  });

  it('runs prune → low-rank → quantize, each from the previous stage, into compressed/<stage>/', () => {
    assert.equal(run.finished.status, 'completed', run.finished.reason);
    const s = summaryOf(run.runDir);
    assert.deepEqual(
      s.compression!.map((c) => [c.stage, c.input]),
      [
        ['prune', 'student'],
        ['low-rank', 'prune'],
        ['float16', 'low-rank'],
        ['uint8', 'low-rank'],
        ['uint8-per-channel', 'low-rank'],
      ],
    );
    for (const c of s.compression!) {
      assert.ok(!isCompressionSkipped(c), `${c.stage} was skipped`);
      assert.ok(fs.existsSync(path.join(run.runDir, 'compressed', c.stage, 'model.json')));
      for (const key of [
        'accuracy',
        'macroF1',
        'agreement',
        'klToTeacher',
        'params',
        'nonZeroParams',
        'sizeBytes',
        'diskBytes',
        'gzipBytes',
        'accuracyChangePts',
      ] as const)
        assert.equal(typeof c[key], 'number', `${c.stage}.${key}`);
      assert.ok(c.accuracy > 0.6, `${c.stage} accuracy ${c.accuracy}`);
    }
  });

  it('the pruned model on disk has exactly the zeros reported per layer, at the asked sparsity', async () => {
    const p = stage(summaryOf(run.runDir), 'prune');
    assert.ok(Math.abs(p.sparsity!.overall - 0.6) < 0.005, `overall sparsity ${p.sparsity!.overall}`);
    const model = await loadStudentModel(path.join(run.runDir, 'compressed/prune/model.json'));
    try {
      for (const layer of p.sparsity!.layers) {
        const w = model.weights
          .find((v) => v.originalName === layer.weight)!
          .read()
          .dataSync();
        assert.equal(w.filter((v) => v === 0).length, layer.zeros, layer.weight);
      }
      const zeros = p.sparsity!.layers.reduce((s, l) => s + l.zeros, 0);
      assert.equal(
        p.nonZeroParams,
        p.params! -
          zeros -
          model.weights
            .filter((w) => !w.originalName.endsWith('kernel'))
            .reduce(
              (s, w) =>
                s +
                w
                  .read()
                  .dataSync()
                  .filter((v) => v === 0).length,
              0,
            ),
      );
    } finally {
      model.dispose();
    }
  });

  it('low-rank has fewer parameters than its input; quantized shards are 2× and about 4× smaller', () => {
    const s = summaryOf(run.runDir);
    const lr = stage(s, 'low-rank');
    assert.ok(lr.params! < stage(s, 'prune').params!, `${lr.params} vs ${stage(s, 'prune').params}`);
    assert.ok(lr.ranks!.some((r) => !r.kept && r.rank < r.fullRank));
    const f16 = stage(s, 'float16');
    const u8 = stage(s, 'uint8');
    const lrBytes = lr.sizeBytes!;
    assert.equal(f16.sizeBytes, lrBytes / 2);
    assert.ok(u8.sizeBytes! < lrBytes / 3.5, `uint8 ${u8.sizeBytes} vs float32 ${lrBytes}`);
    // Evaluated as loaded back: close to the float32 input.
    assert.ok(Math.abs(f16.accuracy - lr.accuracy) <= 0.002, `float16 ${f16.accuracy} vs ${lr.accuracy}`);
    assert.ok(u8.gzipBytes! <= u8.diskBytes!);
    assert.ok(s.teacher.sizeBytes! > 0 && u8.sizeRatioToTeacher! > 1);
  });

  it('the CLI table has a row per stage with its size ratio to the teacher', () => {
    const table = summaryTable(summaryOf(run.runDir));
    for (const label of ['pruned 60%', 'prune → low-rank', 'low-rank → float16', 'low-rank → uint8', 'low-rank → uint8-per-channel'])
      assert.ok(table.includes(label), `${label} row missing:\n${table}`);
    assert.match(table, /÷ teacher/);
  });

  it('a stop during the pruning fine-tune resumes from its checkpoint and completes every stage', async () => {
    let stopped = false;
    // Progress comes every 100 ms (and after the last step), and an epoch here can take less: with two epochs the
    // second's first progress could be the one after the last step, too late to stop. With six, one comes during
    // epochs 2-5: past the first epoch's checkpoint, with steps left to stop at.
    const first = await runEngine(smallConfig(dir, { compress: { prune: { sparsity: 0.5, epochs: 6 }, quantize: ['uint8'] } }), (engine, m) => {
      const { student, epoch, totalEpochs } = m.type === 'steps' ? m.progress : { student: undefined, epoch: 0, totalEpochs: 0 };
      if (!stopped && student === 'compress' && epoch >= 2 && epoch < totalEpochs) {
        stopped = true;
        engine.requestStop();
      }
    });
    assert.equal(first.finished.status, 'stopped', first.finished.reason);
    assert.ok(fs.existsSync(path.join(first.runDir, 'checkpoints', 'compress-prune', 'state.json')));
    assert.ok(!fs.existsSync(path.join(first.runDir, 'compressed', 'prune', 'stage.json')));
    const resumed = await resumeEngine(first.runDir);
    assert.equal(resumed.finished.status, 'completed', resumed.finished.reason);
    const resumedAt = resumed.messages.flatMap((m) =>
      m.type === 'log' ? (/Resuming the compress-prune fine-tuning at epoch (\d+)/.exec(m.message) ?? []) : [],
    );
    assert.ok(Number(resumedAt[1]) >= 2, `resumed past the first epoch: ${resumedAt[0]}`);
    // The KD student was not retrained.
    assert.ok(!resumed.messages.some((m) => m.type === 'steps' && m.progress.student === 'kd'));
    const s = summaryOf(first.runDir);
    assert.ok(Math.abs(stage(s, 'prune').sparsity!.overall - 0.5) < 0.005);
    assert.equal(stage(s, 'uint8').input, 'prune');
  });

  it('a stage that cannot apply (no Dense layer to factorize) is skipped with a note; the others still run', async () => {
    await tf.ready();
    // Logits from a 1×784 convolution over the flattened image: a student with no Dense (or 1×1 conv) layer.
    const m = tfl.sequential({
      layers: [
        tfl.layers.reshape({ inputShape: [28, 28, 1], targetShape: [1, 784, 1] }),
        tfl.layers.conv2d({ filters: 10, kernelSize: [1, 784], kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
        tfl.layers.flatten(),
      ],
    });
    const studentDir = path.join(dir, 'conv-student');
    await saveLayersModel(m, studentDir);
    m.dispose();
    const r = await runEngine(
      smallConfig(dir, {
        student: { model: path.join(studentDir, 'model.json') },
        data: fashionMnistData({ train: 600, test: 300 }),
        training: { epochs: 1, batchSize: 64, learningRate: 0.003 },
        compress: { lowRank: { energy: 0.5 }, quantize: ['uint8'] },
      }),
    );
    assert.equal(r.finished.status, 'completed', r.finished.reason);
    const s = summaryOf(r.runDir);
    const lr = s.compression![0];
    assert.ok(isCompressionSkipped(lr));
    assert.match(lr.skipped, /no Dense or 1×1 Conv2D layer/);
    assert.equal(stage(s, 'uint8').input, 'student');
    assert.match(summaryTable(s), /low-rank skipped: .*no Dense/);
  });
});
