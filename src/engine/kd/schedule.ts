/**
 * Temperature and α over the course of training, from `distillation.schedule`. Pure: the training loop asks for the
 * values at each step, and a resumed run gets the same values from the same position.
 */
import type { DistillConfig } from '../../shared/config';

export interface SchedulePosition {
  /** 0-based epoch. */
  epoch: number;
  /** Global step index across all epochs, 0-based. */
  step: number;
  totalSteps: number;
  stepsPerEpoch: number;
}

export interface ScheduleValues {
  temperature: number;
  alpha: number;
}

export function scheduleAt(d: DistillConfig['distillation'], pos: SchedulePosition): ScheduleValues {
  const schedule = d.schedule;
  switch (schedule.type) {
    case 'constant':
      return { temperature: d.temperature, alpha: d.alpha };
    case 'stages': {
      // Stage i covers epochs [sum of earlier stages' epochs, that + its own epochs); the last one has no end.
      let firstEpochOfNext = 0;
      for (const stage of schedule.stages) {
        firstEpochOfNext += stage.epochs;
        if (pos.epoch < firstEpochOfNext) return { temperature: stage.temperature, alpha: stage.alpha };
      }
      const last = schedule.stages[schedule.stages.length - 1];
      return { temperature: last.temperature, alpha: last.alpha };
    }
    case 'linear':
    case 'cosine': {
      const progress = rampProgress(pos.step, pos.totalSteps);
      const t = schedule.type === 'linear' ? progress : (1 - Math.cos(Math.PI * progress)) / 2;
      const { start, end } = schedule;
      return {
        temperature: start.temperature + (end.temperature - start.temperature) * t,
        alpha: start.alpha + (end.alpha - start.alpha) * t,
      };
    }
  }
}

/**
 * 0 at the first step, 1 at the last (`totalSteps − 1`), clamped outside. A one-step run stays at the start, since
 * its only step is the first one.
 */
function rampProgress(step: number, totalSteps: number): number {
  if (totalSteps <= 1) return 0;
  return Math.min(1, Math.max(0, step / (totalSteps - 1)));
}
