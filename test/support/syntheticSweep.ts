/**
 * A sweep folder written with the coordinator's own writers (writeSweepState, appendResult, status.json of a running
 * trial), for tests of what reads sweeps: the Sweep view's host reader, the view in Chromium, the Runs view's text.
 * A 2 (T) × 2 (α) × 2 (student) grid with 2 repeats and one scratch baseline per (student, repeat); the objective of
 * each finished trial is given by the test.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StatusFile } from '../../src/shared/records';
import { RUN_FILES } from '../../src/shared/runDir';
import { appendResult, SWEEP_FILES, writeSweepState, type SweepState, type SweepTrialEntry, type TrialResult } from '../../src/shared/sweepDir';

export const T = 'distillation.temperature';
export const A = 'distillation.alpha';
export const S = 'student';
export const STUDENTS = [{ preset: 'mlp', hidden: [32] }, { preset: 'cnn-small' }];
export const GRID = { [T]: [2, 4], [A]: [0.5, 0.9], [S]: STUDENTS };

export function syntheticSweepState(dir: string, status: SweepState['status'] = 'running'): SweepState {
  const points: Record<string, unknown>[] = [];
  for (const t of GRID[T]) for (const a of GRID[A]) for (const s of STUDENTS) points.push({ [T]: t, [A]: a, [S]: s });
  const baselines: SweepTrialEntry[] = [0, 1].flatMap((si) =>
    [0, 1].map((r) => ({
      id: `b0${si * 2 + r}`,
      kind: 'baseline' as const,
      point: -1,
      repeat: r,
      seed: 1 + r,
      params: { [S]: STUDENTS[si] },
      runDir: path.join(SWEEP_FILES.trials, `b0${si * 2 + r}`),
    })),
  );
  const trials: SweepTrialEntry[] = points.flatMap((params, point) =>
    [0, 1].map((r) => {
      const id = `p${String(point).padStart(2, '0')}-r${r}`;
      return {
        id,
        kind: 'trial' as const,
        point,
        repeat: r,
        seed: 1 + r,
        params,
        runDir: path.join(SWEEP_FILES.trials, id),
        baseline: `b0${(point % 2) * 2 + r}`,
      };
    }),
  );
  const now = new Date().toISOString();
  return {
    version: 1,
    sweepId: path.basename(dir),
    name: 't-alpha',
    file: path.join(path.dirname(path.dirname(dir)), 't-alpha.sweep.json'),
    contentHash: 'x',
    status,
    createdAt: now,
    updatedAt: now,
    pid: status === 'running' ? process.pid : undefined,
    host: os.hostname(),
    executor: 'local (2 processes)',
    sweep: {
      name: 't-alpha',
      base: 'fashion.distill.json',
      grid: GRID,
      repeats: 2,
      objective: { metric: 'student.accuracy', goal: 'max' },
      baseline: true,
      concurrency: 2,
      output: { sweepsDir: 'sweeps' },
    },
    base: {} as SweepState['base'],
    axes: [T, A, S],
    points,
    trials: [...baselines, ...trials],
  };
}

export function writeSyntheticSweep(dir: string, status: SweepState['status'] = 'running'): SweepState {
  const state = syntheticSweepState(dir, status);
  writeSweepState(dir, state);
  return state;
}

/** One results.jsonl line for a finished trial or baseline of `state`. */
export function recordTrial(dir: string, state: SweepState, id: string, objective: number | undefined, status: TrialResult['status'] = 'completed'): void {
  const t = state.trials.find((x) => x.id === id)!;
  appendResult(dir, {
    trial: id,
    kind: t.kind,
    point: t.point,
    params: t.params,
    seed: t.seed,
    status,
    runDir: t.runDir,
    baseline: t.baseline,
    objective,
    metrics: objective === undefined ? {} : { 'student.accuracy': objective, seconds: 12.5 },
    host: 'here',
    finishedAt: new Date().toISOString(),
    reason: status === 'failed' ? 'The student model file does not exist.' : undefined,
  });
}

/** A trial's run folder with a status.json saying it runs (in this process, so it reads as alive), at `epoch` of 2. */
export function markRunning(dir: string, id: string, epoch = 1): void {
  const runDir = path.join(dir, SWEEP_FILES.trials, id);
  fs.mkdirSync(runDir, { recursive: true });
  const now = new Date().toISOString();
  const status: StatusFile = { status: 'running', runId: id, pid: process.pid, startedAt: now, updatedAt: now, epoch, totalEpochs: 2, student: 'kd' };
  fs.writeFileSync(path.join(runDir, RUN_FILES.status), JSON.stringify(status));
}
