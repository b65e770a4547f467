// compress.* paths as sweep axes: sparsity × quantization formats expand into trials, and a value the compress
// schema rejects is an error naming the axis before anything runs.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { summaryNumbers } from '../../src/shared/sweepDir';
import { planSweep } from '../../src/shared/sweepPlan';
import { fashionMnistData } from '../fixtures/fashionMnist';
import { removeTempDir, tempDir } from '../support/tempDirs';

const base = {
  name: 'fashion',
  data: fashionMnistData({ train: 1000, test: 500 }),
  teacher: { preset: 'mlp', hidden: [64], train: { epochs: 1 } },
  student: { preset: 'cnn-small' },
  compress: { prune: { sparsity: 0.5, epochs: 1 } },
};

describe('sweeps over compress.* axes', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('distill-compress-sweep-');
    fs.writeFileSync(path.join(dir, 'fashion.distill.json'), JSON.stringify(base));
  });
  afterEach(() => removeTempDir(dir));

  it('expands sparsity [0.5, 0.7, 0.9] × quantize into six trials with those compress blocks', () => {
    const r = planSweep(
      {
        name: 'prune-q',
        base: 'fashion.distill.json',
        grid: { 'compress.prune.sparsity': [0.5, 0.7, 0.9], 'compress.quantize': [['uint8'], ['float16', 'uint8-per-channel']] },
        objective: { metric: 'compression.prune.accuracy', goal: 'max' },
      },
      path.join(dir, 'prune-q.sweep.json'),
    );
    assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
    assert.equal(r.plan.trials.length, 6);
    const c = r.plan.trials.map((t) => [t.config.compress!.prune!.sparsity, t.config.compress!.quantize]);
    assert.deepEqual(c[0], [0.5, ['uint8']]);
    assert.deepEqual(c[5], [0.9, ['float16', 'uint8-per-channel']]);
    // The objective reads a stage's row by its name.
    const numbers = summaryNumbers({
      compression: [
        { stage: 'prune', accuracy: 0.8, sparsity: { overall: 0.5 } },
        { stage: 'uint8', accuracy: 0.7 },
      ],
    } as never);
    assert.equal(numbers['compression.uint8.accuracy'], 0.7);
    assert.equal(numbers['compression.prune.sparsity.overall'], 0.5);
    // The schema defaults still fill the rest of the block.
    assert.equal(r.plan.trials[0].config.compress!.prune!.schedule, 'agp');
  });

  it('shares one scratch baseline per seed across compress points, and the baseline runs no compress stages', () => {
    const r = planSweep(
      { name: 'prune-b', base: 'fashion.distill.json', grid: { 'compress.prune.sparsity': [0.5, 0.9], 'distillation.temperature': [2, 4] }, repeats: 2 },
      path.join(dir, 'prune-b.sweep.json'),
    );
    assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
    // 2 × 2 points × 2 repeats; the baseline depends on the seed only, so one per repeat.
    assert.equal(r.plan.trials.length, 8);
    assert.deepEqual(
      r.plan.baselines.map((b) => b.seed),
      [r.plan.base.seed, r.plan.base.seed + 1],
    );
    for (const b of r.plan.baselines) {
      assert.equal(b.config.compress, undefined, `${b.id} has no compress block`);
      assert.deepEqual(b.params, {}, `${b.id} carries neither distillation nor compress axes`);
      assert.equal(b.config.distillation.alpha, 0);
    }
    // The trials keep theirs.
    assert.ok(r.plan.trials.every((t) => t.config.compress?.prune?.sparsity !== undefined));
  });

  it('rejects a sparsity of 1 and an energy of 0, naming the axis', () => {
    const r = planSweep(
      { name: 'bad', base: 'fashion.distill.json', grid: { 'compress.prune.sparsity': [0.5, 1], 'compress.lowRank.energy': [0, 0.9] } },
      path.join(dir, 'bad.sweep.json'),
    );
    assert.ok(!r.ok);
    const text = r.issues.map((i) => i.message).join('\n');
    assert.match(text, /compress\.prune\.sparsity/);
    assert.match(text, /compress\.lowRank\.energy/);
  });
});
