/**
 * One progress and one ETA for the whole run. A run trains up to three models one after another (a preset teacher
 * when it is not cached, the KD student, the scratch baseline); each phase's steps are weighted by what a step of
 * that model costs (multiply-adds of a forward pass × batch size), so a determinate bar moves evenly across phases.
 * The ETA divides the work left by one rate measured over this session's steps, whichever model they were of.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { RunProgress } from '../shared/protocol';
import type { TrainedRole } from '../shared/records';

export interface PlannedPhase {
  role: TrainedRole;
  /** Optimizer steps this model takes in all. */
  steps: number;
  stepsPerEpoch: number;
  /** Relative cost of one step (any unit, the same for every phase). */
  costPerStep: number;
}

export class RunPlan {
  private readonly done = new Map<TrainedRole, number>();
  private sessionStart: { at: number; work: number } | undefined;

  constructor(
    private readonly phases: PlannedPhase[],
    private readonly now: () => number = Date.now,
  ) {}

  get roles(): TrainedRole[] {
    return this.phases.map((p) => p.role);
  }

  /** Record that `role` has done `steps` of its steps (from a checkpoint, or as training goes) and report. */
  update(role: TrainedRole, steps: number): RunProgress {
    this.done.set(role, steps);
    const work = this.workDone();
    if (!this.sessionStart) this.sessionStart = { at: this.now(), work };
    const total = this.totalWork();
    const index = Math.max(
      0,
      this.phases.findIndex((p) => p.role === role),
    );
    const measured = work - this.sessionStart.work;
    const seconds = (this.now() - this.sessionStart.at) / 1000;
    const progress: RunProgress = { fraction: total > 0 ? Math.min(1, work / total) : 1, phase: index + 1, phases: this.phases.length };
    // A rate needs a few steps behind it: the first steps include warm-up (kernel compilation, allocation).
    if (measured > 0 && seconds > 0.5) progress.etaSeconds = ((total - work) * seconds) / measured;
    return progress;
  }

  /** `role` finished its `epoch`-th epoch (1-based). */
  epochDone(role: TrainedRole, epoch: number): RunProgress {
    const phase = this.phases.find((p) => p.role === role);
    return this.update(role, phase ? epoch * phase.stepsPerEpoch : 0);
  }

  /** Mark every phase before `role` complete (it runs after them). */
  startPhase(role: TrainedRole, stepsDone = 0): RunProgress {
    for (const p of this.phases) {
      if (p.role === role) break;
      this.done.set(p.role, p.steps);
    }
    return this.update(role, stepsDone);
  }

  private workDone(): number {
    return this.phases.reduce((sum, p) => sum + Math.min(p.steps, this.done.get(p.role) ?? 0) * p.costPerStep, 0);
  }

  private totalWork(): number {
    return this.phases.reduce((sum, p) => sum + p.steps * p.costPerStep, 0);
  }
}

/**
 * Multiply-adds of one forward pass for one sample: dense and convolution layers (the rest is small beside them).
 * Training costs about three forward passes, the same factor for every model, so it cancels in the weights.
 */
export function forwardMacs(model: tfl.LayersModel): number {
  let macs = 0;
  for (const layer of model.layers) {
    const name = layer.getClassName();
    const out = layer.outputShape as (number | null)[];
    const kernel = layer.trainableWeights[0]?.shape as number[] | undefined;
    if (!kernel) continue;
    const kernelSize = kernel.reduce((a, b) => a * b, 1);
    if (name === 'Dense') macs += kernelSize;
    else if (name === 'Conv2D' || name === 'DepthwiseConv2D' || name === 'SeparableConv2D' || name === 'Conv1D') {
      const positions = out.slice(1, -1).reduce<number>((a, b) => a * (b ?? 1), 1);
      macs += kernelSize * positions;
    } else macs += kernelSize;
  }
  return Math.max(1, macs);
}
