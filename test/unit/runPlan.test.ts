// One progress for the whole run (src/engine/runPlan.ts): phases weighted by their cost, one ETA from one rate.
import { strict as assert } from 'node:assert';
import { RunPlan } from '../../src/engine/runPlan';

describe('run plan: one progress and one ETA for the whole run', () => {
  // A teacher step costs 10× a student step: 100 teacher steps weigh as much as 1,000 student steps.
  const phases = () => [
    { role: 'teacher' as const, steps: 100, stepsPerEpoch: 50, costPerStep: 10 },
    { role: 'kd' as const, steps: 500, stepsPerEpoch: 250, costPerStep: 1 },
    { role: 'baseline' as const, steps: 500, stepsPerEpoch: 250, costPerStep: 1 },
  ];

  it('weights each phase by its cost, so half the teacher is a quarter of the run', () => {
    let now = 0;
    const plan = new RunPlan(phases(), () => now);
    assert.deepEqual(plan.update('teacher', 0), { fraction: 0, phase: 1, phases: 3 });
    now = 10_000;
    const half = plan.update('teacher', 50);
    assert.equal(half.fraction, 0.25);
    // 500 units of work in 10 s: the 1,500 left take 30 s.
    assert.equal(half.etaSeconds, 30);
    assert.equal(plan.epochDone('teacher', 2).fraction, 0.5);
    assert.equal(plan.startPhase('baseline', 250).fraction, 0.875, 'the phases before the baseline count as done');
    assert.equal(plan.update('baseline', 500).fraction, 1);
  });

  it('a resumed run starts its rate afresh: work done before the stop is done, but took no time now', () => {
    let now = 0;
    const plan = new RunPlan(phases(), () => now);
    const first = plan.startPhase('kd', 250);
    assert.equal(first.fraction, 1250 / 2000);
    assert.equal(first.etaSeconds, undefined, 'no rate yet');
    now = 5_000;
    // 250 units in 5 s; 500 units left.
    assert.equal(plan.update('kd', 500).etaSeconds, 10);
  });
});
