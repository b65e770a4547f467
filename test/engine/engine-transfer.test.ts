/**
 * A transfer-set run on real Fashion-MNIST: labels kept on a class-stratified subset (data.labeled), more rows with
 * no labels at all (data.unlabeled), the scratch baseline on the labelled rows only with as many steps, and the
 * run directory saying how many rows of each kind every epoch saw.
 */
import { strict as assert } from 'node:assert';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EpochRecord, MetricsRecord, StepRecord, Summary } from '../../src/shared/records';
import { readJson, readJsonLines } from '../../src/shared/runDir';
import { removeTempDir } from '../support/tempDirs';
import { FASHION, runEngine, smallConfig, tempDir } from './helpers';

const metricsOf = (runDir: string) => readJsonLines<MetricsRecord>(path.join(runDir, 'metrics.jsonl'));
const steps = (records: MetricsRecord[], student: string) => records.filter((r): r is StepRecord => r.kind === 'step' && r.student === student);
const epochs = (records: MetricsRecord[], student: string) => records.filter((r): r is EpochRecord => r.kind === 'epoch' && r.student === student);

describe('engine: transfer sets (unlabelled rows learnt from the teacher only)', function () {
  this.timeout(600_000);
  const dir = tempDir();
  after(() => removeTempDir(dir));

  /** 3,000 labelled rows → 2,700 after the validation split, 20 per class keep their label; 500 more images with none. */
  const transferConfig = (overrides: Record<string, unknown> = {}) => {
    const base = smallConfig(dir);
    return smallConfig(dir, {
      // The test split's images stand in for a pool of unlabelled images: the run never sees their labels.
      data: {
        ...base.data,
        labeled: { perClass: 20 },
        unlabeled: { images: `${FASHION}/t10k-images-idx3-ubyte.gz` },
        maxSamples: { train: 3000, test: 1000, unlabeled: 500 },
      },
      compare: { baseline: true },
      ...overrides,
    });
  };

  let run: Awaited<ReturnType<typeof runEngine>>;
  before(async () => {
    run = await runEngine(transferConfig());
  });

  it('completes; the summary counts 200 labelled and 3,000 unlabelled training rows', () => {
    assert.equal(run.finished.status, 'completed', run.finished.reason);
    const summary = readJson<Summary>(path.join(run.runDir, 'summary.json'))!;
    assert.deepEqual(summary.transfer, { labeled: 200, unlabeled: 2500 + 500 });
    assert.ok(summary.baseline, 'the baseline is reported');
  });

  it('trains on one thread whatever engine.threads would give, and says why in its Threads line', function () {
    if (os.availableParallelism() < 2 || process.env.DISTILL_THREADS) this.skip(); // 1 thread anyway, or a parent's budget
    assert.ok(run.messages.some((m) => m.type === 'log' && m.message === 'Threads: 1 (transfer sets / DKD train on one thread for now)'));
  });

  it('each KD epoch record counts the rows it saw; the baseline cycles its 200 labelled rows to the same step count', () => {
    const records = metricsOf(run.runDir);
    for (const e of epochs(records, 'kd')) assert.deepEqual(e.rows, { labeled: 200, unlabeled: 3000 });
    const kdSteps = steps(records, 'kd');
    const baseSteps = steps(records, 'baseline');
    assert.equal(kdSteps.length, 2 * Math.ceil(3200 / 64), 'two epochs of the KD student over 3,200 rows, batch 64');
    assert.equal(baseSteps.length, kdSteps.length, 'the baseline gets as many optimizer steps');
    for (const e of epochs(records, 'baseline')) assert.deepEqual(e.rows, { labeled: 50 * 64, unlabeled: 0 });
  });

  it('step records carry the labelled rows of their batch, summing to the labelled rows of the epoch; CE is 0 where a batch has none', () => {
    const kdSteps = steps(metricsOf(run.runDir), 'kd');
    for (const epoch of [1, 2]) {
      const inEpoch = kdSteps.filter((s) => s.epoch === epoch);
      assert.equal(
        inEpoch.reduce((n, s) => n + (s.labeled ?? NaN), 0),
        200,
      );
    }
    const empty = kdSteps.filter((s) => s.labeled === 0);
    assert.ok(empty.length > 0, 'with 200 labels among 3,200 rows, some batches of 64 have none');
    for (const s of empty) {
      assert.equal(s.ce, 0);
      assert.equal(s.accuracy, undefined);
      // α is 1 on unlabelled rows: with no labelled row the loss is the distillation term itself.
      assert.ok(Math.abs(s.loss - s.kd) <= 1e-6 * s.kd, `loss ${s.loss} vs kd ${s.kd}`);
    }
    // The scratch baseline has labels on every row.
    for (const s of steps(metricsOf(run.runDir), 'baseline')) assert.equal(s.labeled, undefined);
  });

  it('at a constant α = 0 (a sweep\u2019s shared scratch baseline) the KD student trains on the labelled rows only, as many steps', async () => {
    const alphaZero = await runEngine(transferConfig({ distillation: { temperature: 4, alpha: 0 }, compare: { baseline: false } }));
    assert.equal(alphaZero.finished.status, 'completed', alphaZero.finished.reason);
    const records = metricsOf(alphaZero.runDir);
    assert.equal(steps(records, 'kd').length, 2 * Math.ceil(3200 / 64));
    for (const e of epochs(records, 'kd')) assert.deepEqual(e.rows, { labeled: 50 * 64, unlabeled: 0 });
  });

  it('a teacher given as precomputed logits needs teacher.logits.unlabeled, and the run says so', async () => {
    const failed = await runEngine(
      transferConfig({ teacher: { logits: { train: path.join(dir, 'missing-train.npy'), test: path.join(dir, 'missing-test.npy') } } }),
    );
    assert.equal(failed.finished.status, 'failed');
    assert.match(failed.finished.reason ?? '', /teacher\.logits\.unlabeled/);
  });

  it('a labelled subset that keeps no rows is a config error naming data.labeled', async () => {
    const base = smallConfig(dir);
    const failed = await runEngine(smallConfig(dir, { data: { ...base.data, labeled: { fraction: 1e-6 } } }));
    assert.equal(failed.finished.status, 'failed');
    assert.match(failed.finished.reason ?? '', /data\.labeled .*keeps no labelled rows/);
  });
});
