// The sweep file: from *.sweep.json to trials, and the errors a user gets for a wrong axis or value.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diagnoseSweepText } from '../../src/extension/sweepDiagnostics';
import { planSweep, planSweepText } from '../../src/shared/sweepPlan';
import { fashionMnistData } from '../fixtures/fashionMnist';
import { removeTempDir, tempDir } from '../support/tempDirs';

const base = {
  name: 'fashion',
  seed: 3,
  data: fashionMnistData({ train: 1000, test: 500 }),
  teacher: { preset: 'mlp', hidden: [64], train: { epochs: 1 } },
  student: { preset: 'mlp', hidden: [16] },
  compare: { baseline: true },
};

describe('sweep plan', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('distill-sweep-plan-');
    fs.writeFileSync(path.join(dir, 'fashion.distill.json'), JSON.stringify(base));
  });
  afterEach(() => removeTempDir(dir));
  const file = () => path.join(dir, 't-alpha.sweep.json');

  it('expands a 4 × 3 grid with 2 repeats into 24 trials sharing one scratch baseline per seed', () => {
    const r = planSweep(
      { name: 't-alpha', base: 'fashion.distill.json', grid: { 'distillation.temperature': [1, 2, 4, 8], 'distillation.alpha': [0.5, 0.7, 0.9] }, repeats: 2 },
      file(),
    );
    assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
    const { trials, baselines, points, sweepsDir } = r.plan;
    assert.equal(points.length, 12);
    assert.equal(trials.length, 24);
    assert.deepEqual(new Set(trials.map((t) => t.id)).size, 24);
    assert.deepEqual(trials[0].params, { 'distillation.temperature': 1, 'distillation.alpha': 0.5 });
    assert.deepEqual(trials.map((t) => t.seed).slice(0, 2), [3, 4]);
    assert.equal(trials[6].config.distillation.temperature, 2);
    assert.equal(trials[6].config.distillation.alpha, 0.5);
    assert.equal(trials[0].config.compare.baseline, false, 'the trials leave the scratch student to the shared baselines');
    assert.equal(baselines.length, 2);
    assert.deepEqual(
      baselines.map((b) => [b.seed, b.config.distillation.alpha]),
      [
        [3, 0],
        [4, 0],
      ],
    );
    assert.deepEqual(new Set(trials.map((t) => t.baseline)), new Set(['b00', 'b01']));
    assert.equal(sweepsDir, path.join(dir, 'sweeps'));
    assert.ok(path.isAbsolute((trials[0].config.data.train as { images: string }).images));
  });

  it('gives one baseline per distinct student when the student is an axis', () => {
    const r = planSweep(
      {
        name: 's',
        base: 'fashion.distill.json',
        grid: { student: [{ preset: 'mlp', hidden: [8] }, { preset: 'cnn-small' }], 'distillation.divergence': ['forward-kl', 'js'] },
      },
      file(),
    );
    assert.ok(r.ok);
    assert.equal(r.plan.trials.length, 4);
    assert.equal(r.plan.baselines.length, 2);
    assert.deepEqual(
      r.plan.baselines.map((b) => b.params),
      [{ student: { preset: 'mlp', hidden: [8] } }, { student: { preset: 'cnn-small' } }],
    );
  });

  it('names the axis and the trial of a value the config schema rejects', () => {
    const r = planSweep({ name: 's', base: 'fashion.distill.json', grid: { 'distillation.temperature': [2, 4], 'distillation.alpha': [0.5, 1.5] } }, file());
    assert.ok(!r.ok);
    assert.deepEqual(r.issues, [
      {
        path: ['grid', 'distillation.alpha'],
        message:
          'axis "distillation.alpha", trial p01-r0 (distillation.temperature = 2, distillation.alpha = 1.5): distillation.alpha must be between 0 and 1 (got 1.5)',
      },
    ]);
  });

  it('rejects an axis that is not a config path, with the nearest one', () => {
    const r = planSweep({ name: 's', base: 'fashion.distill.json', grid: { 'distillation.temprature': [2] } }, file());
    assert.ok(!r.ok);
    assert.match(r.issues[0].message, /axis "distillation.temprature" is not a config path: did you mean "distillation.temperature"\?/);
  });

  it('accepts array-index axes, inline bases, and draws random points from the seed, in range', () => {
    const inlineBase = {
      ...base,
      distillation: {
        schedule: {
          type: 'stages',
          stages: [
            { epochs: 1, temperature: 8, alpha: 0.9 },
            { epochs: 1, temperature: 2, alpha: 0.5 },
          ],
        },
      },
    };
    const sweep = {
      name: 'r',
      base: inlineBase,
      random: {
        trials: 6,
        seed: 11,
        space: {
          'distillation.schedule.stages.0.temperature': { logUniform: [1, 20] },
          'training.epochs': { intUniform: [1, 3] },
          'distillation.divergence': { choice: ['js', 'reverse-kl'] },
        },
      },
    };
    const a = planSweep(sweep, file());
    const b = planSweep(structuredClone(sweep), file());
    assert.ok(a.ok && b.ok);
    assert.deepEqual(a.plan.points, b.plan.points, 'the same seed draws the same points');
    for (const t of a.plan.trials) {
      const sched = t.config.distillation.schedule;
      assert.ok(sched.type === 'stages' && sched.stages[0].temperature >= 1 && sched.stages[0].temperature <= 20);
      assert.ok([1, 2, 3].includes(t.config.training.epochs));
      assert.ok(['js', 'reverse-kl'].includes(t.config.distillation.divergence));
    }
    assert.equal(new Set(a.plan.points.map((p) => JSON.stringify(p))).size, 6);
  });

  it('rejects a sweep with both or neither of grid and random, an unknown metric, and a missing base file', () => {
    assert.match(
      (planSweep({ name: 's', base: 'fashion.distill.json' }, file()) as { issues: { message: string }[] }).issues[0].message,
      /exactly one of "grid"/,
    );
    const metric = planSweep({ name: 's', base: 'fashion.distill.json', grid: { seed: [1] }, objective: { metric: 'student.acc' } }, file());
    assert.ok(!metric.ok && /objective.metric "student.acc" is not a number of summary.json/.test(metric.issues[0].message));
    const missing = planSweep({ name: 's', base: 'nope.distill.json', grid: { seed: [1] } }, file());
    assert.ok(!missing.ok && missing.issues[0].message.includes(path.join(dir, 'nope.distill.json')));
  });

  it('diagnostics point at the axis key in the sweep file', () => {
    const text = '{\n  "name": "s",\n  "base": "fashion.distill.json",\n  "grid": { "distillation.alpah": [0.5] }\n}\n';
    const [p] = diagnoseSweepText(text, file(), () => true);
    assert.equal(text.slice(p.offset, p.offset + p.length), '"distillation.alpah"');
    assert.throws(() => planSweepText(text, file()), /did you mean "distillation.alpha"/);
  });
});
