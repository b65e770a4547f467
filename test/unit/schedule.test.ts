import { strict as assert } from 'node:assert';
import type { DistillConfig, ScheduleConfig } from '../../src/shared/config';
import { scheduleAt, type SchedulePosition } from '../../src/engine/kd/schedule';

const distillation = (schedule: ScheduleConfig): DistillConfig['distillation'] => ({
  temperature: 4,
  alpha: 0.7,
  divergence: 'forward-kl',
  schedule,
});

const STEPS_PER_EPOCH = 10;
const atEpoch = (epoch: number): SchedulePosition => ({
  epoch,
  step: epoch * STEPS_PER_EPOCH,
  totalSteps: 100 * STEPS_PER_EPOCH,
  stepsPerEpoch: STEPS_PER_EPOCH,
});
const atStep = (step: number, totalSteps = 101): SchedulePosition => ({
  epoch: Math.floor(step / STEPS_PER_EPOCH),
  step,
  totalSteps,
  stepsPerEpoch: STEPS_PER_EPOCH,
});

function assertValues(actual: { temperature: number; alpha: number }, temperature: number, alpha: number): void {
  assert.ok(Math.abs(actual.temperature - temperature) < 1e-12, `temperature ${actual.temperature}, expected ${temperature}`);
  assert.ok(Math.abs(actual.alpha - alpha) < 1e-12, `alpha ${actual.alpha}, expected ${alpha}`);
}

describe('scheduleAt', () => {
  it('constant: the top-level temperature and alpha, at every position', () => {
    const d = distillation({ type: 'constant' });
    for (const pos of [atEpoch(0), atEpoch(7), atStep(0), atStep(100)]) assertValues(scheduleAt(d, pos), 4, 0.7);
  });

  describe('stages', () => {
    const d = distillation({
      type: 'stages',
      stages: [
        { epochs: 2, temperature: 8, alpha: 0.9 },
        { epochs: 1, temperature: 4, alpha: 0.7 },
        { epochs: 3, temperature: 2, alpha: 0.5 },
      ],
    });

    it('picks the stage containing the epoch, switching exactly at the cumulative boundaries', () => {
      assertValues(scheduleAt(d, atEpoch(0)), 8, 0.9);
      assertValues(scheduleAt(d, atEpoch(1)), 8, 0.9); // last epoch of stage 1
      assertValues(scheduleAt(d, atEpoch(2)), 4, 0.7); // stage 2 is one epoch long
      assertValues(scheduleAt(d, atEpoch(3)), 2, 0.5);
      assertValues(scheduleAt(d, atEpoch(5)), 2, 0.5); // last epoch the stages cover
    });

    it('continues the last stage after the stages run out, ignoring the top-level values', () => {
      assertValues(scheduleAt(d, atEpoch(6)), 2, 0.5);
      assertValues(scheduleAt(d, atEpoch(99)), 2, 0.5);
    });
  });

  describe('ramps', () => {
    const start = { temperature: 8, alpha: 0.9 };
    const end = { temperature: 2, alpha: 0.5 };

    it('linear: start at step 0, end at the last step, proportional between', () => {
      const d = distillation({ type: 'linear', start, end });
      assertValues(scheduleAt(d, atStep(0)), 8, 0.9);
      assertValues(scheduleAt(d, atStep(25)), 6.5, 0.8);
      assertValues(scheduleAt(d, atStep(50)), 5, 0.7);
      assertValues(scheduleAt(d, atStep(100)), 2, 0.5);
    });

    it('cosine: same endpoints and midpoint as linear, (1 − cos πt)/2 between', () => {
      const d = distillation({ type: 'cosine', start, end });
      assertValues(scheduleAt(d, atStep(0)), 8, 0.9);
      assertValues(scheduleAt(d, atStep(50)), 5, 0.7);
      assertValues(scheduleAt(d, atStep(100)), 2, 0.5);
      // t = 1/4: (1 − cos(π/4))/2 = 0.1464466…, slower than linear near the start.
      const quarter = (1 - Math.SQRT1_2) / 2;
      assertValues(scheduleAt(d, atStep(25)), 8 - 6 * quarter, 0.9 - 0.4 * quarter);
      assert.ok(scheduleAt(d, atStep(25)).temperature > 6.5);
    });

    it('holds the end value past the last step and the start value for a one-step run', () => {
      const d = distillation({ type: 'linear', start, end });
      assertValues(scheduleAt(d, atStep(150)), 2, 0.5);
      assertValues(scheduleAt(d, atStep(0, 1)), 8, 0.9);
    });
  });
});
