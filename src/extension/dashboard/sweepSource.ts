/**
 * Reads a sweep directory into what the Sweep view shows (`SweepData`): sweep.json for the plan and status,
 * results.jsonl for finished trials, and each unfinished trial's status.json for whether it is running (and how far)
 * or was stopped. No vscode import, so unit tests read real sweep folders with it.
 */
import * as path from 'node:path';
import type { StatusFile } from '../../shared/records';
import { isProcessAlive, readJson, RUN_FILES } from '../../shared/runDir';
import { readResults, readSweepState, type SweepState } from '../../shared/sweepDir';
import type { SweepAxis, SweepData, SweepTrialRow } from '../../shared/sweepProtocol';

/** The axes of a sweep as the view bins them: grid values in the file's order, random ranges or choices. */
export function sweepAxes(state: Pick<SweepState, 'axes' | 'sweep'>): SweepAxis[] {
  return state.axes.map((p): SweepAxis => {
    const values = state.sweep.grid?.[p];
    if (values) return { path: p, kind: 'values', values };
    const d = state.sweep.random?.space[p];
    if (!d) return { path: p, kind: 'values', values: [] };
    if ('choice' in d) return { path: p, kind: 'values', values: d.choice };
    if ('uniform' in d) return { path: p, kind: 'range', min: d.uniform[0], max: d.uniform[1], log: false, integer: false };
    if ('logUniform' in d) return { path: p, kind: 'range', min: d.logUniform[0], max: d.logUniform[1], log: true, integer: false };
    return { path: p, kind: 'range', min: d.intUniform[0], max: d.intUniform[1], log: false, integer: true };
  });
}

export function readSweepData(sweepDir: string): SweepData | undefined {
  const state = readSweepState(sweepDir);
  if (!state) return undefined;
  const results = new Map(readResults(sweepDir).map((r) => [r.trial, r]));
  const trials = state.trials.map((t): SweepTrialRow => {
    const runDir = path.resolve(sweepDir, t.runDir);
    const row: SweepTrialRow = {
      id: t.id,
      kind: t.kind,
      point: t.point,
      repeat: t.repeat,
      seed: t.seed,
      params: t.params,
      runDir,
      baseline: t.baseline,
      status: 'pending',
    };
    const r = results.get(t.id);
    if (r) return { ...row, status: r.status, objective: r.objective, reason: r.reason, host: r.host, seconds: r.metrics.seconds };
    const s = readJson<StatusFile>(path.join(runDir, RUN_FILES.status));
    if (!s) return row;
    // A running status whose engine is gone: the sweep was interrupted (VS Code or the coordinator went away).
    const status = s.status === 'running' && !isProcessAlive(s.pid) ? 'interrupted' : s.status;
    // Not in results.jsonl yet: a completed run is being recorded (or will be, when the sweep runs again).
    const progress =
      s.totalEpochs && s.epoch !== undefined && s.student !== 'teacher'
        ? Math.min(1, Math.max(0, (s.epoch - (status === 'running' ? 1 : 0)) / s.totalEpochs))
        : undefined;
    return { ...row, status: status === 'completed' ? 'running' : status, reason: s.reason, progress };
  });
  return {
    sweepDir,
    sweepId: state.sweepId,
    name: state.name,
    status: state.status,
    reason: state.reason,
    objective: state.sweep.objective,
    axes: sweepAxes(state),
    repeats: state.sweep.repeats,
    executor: state.executor,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    trials,
  };
}
