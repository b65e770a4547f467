/**
 * The sweep directory is a contract like the run directory (runDir.ts):
 *
 *   <sweepsDir>/<sweepId>/sweep.json        the resolved sweep, its trials, status and best point
 *                         results.jsonl     one line per finished trial or baseline (never two for one id)
 *                         best.distill.json a runnable config of the best point, once there is one
 *                         trials/<id>/      each trial's run directory
 *
 * Readers here serve the CLI, the extension and the dashboard host. Node only (fs); no vscode, no tfjs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DistillConfig } from './config';
import { isProcessAlive, readJson, readJsonLines, writeJsonAtomic } from './runDir';
import type { Summary } from './records';
import type { SweepFile } from './sweepSchema';
import type { TrialKind } from './sweepPlan';

export const SWEEP_FILES = { sweep: 'sweep.json', results: 'results.jsonl', best: 'best.distill.json', trials: 'trials' } as const;

export type SweepStatus = 'running' | 'completed' | 'stopped' | 'failed' | 'interrupted';

export interface SweepTrialEntry {
  id: string;
  kind: TrialKind;
  point: number;
  repeat: number;
  seed: number;
  params: Record<string, unknown>;
  /** Relative to the sweep directory. */
  runDir: string;
  baseline?: string;
}

export interface PointStats {
  point: number;
  params: Record<string, unknown>;
  /** Objective over the completed repeats. */
  mean: number;
  std: number;
  n: number;
  values: number[];
  /** The point's scratch baselines' objective, when there are any. */
  baseline?: { mean: number; std: number; n: number };
  trials: string[];
}

export interface SweepState {
  version: 1;
  sweepId: string;
  name: string;
  /** The sweep file it came from, absolute. */
  file: string;
  contentHash: string;
  status: SweepStatus;
  reason?: string;
  createdAt: string;
  updatedAt: string;
  /** The coordinator's process while running; a running sweep whose coordinator is gone reads as interrupted. */
  pid?: number;
  host?: string;
  /** Where the trials run: `local (N processes)` or the Redis URL (without credentials). */
  executor: string;
  sweep: SweepFile;
  base: DistillConfig;
  axes: string[];
  points: Record<string, unknown>[];
  trials: SweepTrialEntry[];
  best?: PointStats & { trial: string; runDir: string };
}

export interface TrialResult {
  trial: string;
  kind: TrialKind;
  point: number;
  params: Record<string, unknown>;
  seed: number;
  status: 'completed' | 'failed';
  reason?: string;
  /** Relative to the sweep directory. */
  runDir: string;
  baseline?: string;
  /** The objective's value, for a completed trial. */
  objective?: number;
  /** The summary's numbers, flattened: `student.accuracy`, `baseline.macroF1`, `seconds`, … */
  metrics: Record<string, number>;
  /** The machine that ran it. */
  host?: string;
  finishedAt: string;
}

export const sweepPath = (dir: string, name: keyof typeof SWEEP_FILES) => path.join(dir, SWEEP_FILES[name]);

export function writeSweepState(dir: string, state: SweepState): void {
  fs.mkdirSync(dir, { recursive: true });
  writeJsonAtomic(sweepPath(dir, 'sweep'), state);
}

/** The sweep's state; `running` whose coordinator (on this host) is gone reads as `interrupted`. */
export function readSweepState(dir: string, host?: string): SweepState | undefined {
  const state = readJson<SweepState>(sweepPath(dir, 'sweep'));
  if (!state) return undefined;
  if (state.status === 'running' && (!host || state.host === host) && !isProcessAlive(state.pid)) return { ...state, status: 'interrupted' };
  return state;
}

/** Finished trials, the first line of each id only (a line is never written twice, but readers hold to it anyway). */
export function readResults(dir: string): TrialResult[] {
  const seen = new Set<string>();
  return readJsonLines<TrialResult>(sweepPath(dir, 'results')).filter((r) => !seen.has(r.trial) && seen.add(r.trial));
}

export function appendResult(dir: string, result: TrialResult): void {
  fs.appendFileSync(sweepPath(dir, 'results'), JSON.stringify(result) + '\n');
}

/** All sweeps under `sweepsDir`, newest first. */
export function listSweeps(sweepsDir: string): { dir: string; state: SweepState }[] {
  if (!fs.existsSync(sweepsDir)) return [];
  return fs
    .readdirSync(sweepsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => ({ dir: path.join(sweepsDir, d.name), state: readSweepState(path.join(sweepsDir, d.name)) }))
    .filter((s): s is { dir: string; state: SweepState } => !!s.state)
    .sort((a, b) => b.state.createdAt.localeCompare(a.state.createdAt));
}

/** The numbers of a summary, flattened to dotted keys; per-class arrays and the confusion matrix are left out. */
export function summaryNumbers(summary: Summary): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (v: unknown, at: string) => {
    if (typeof v === 'number' && Number.isFinite(v)) out[at] = v;
    // A list of compression stages is keyed by stage name: compression.uint8.accuracy.
    else if (Array.isArray(v) && at === 'compression') for (const e of v as { stage?: string }[]) walk(e, `${at}.${e.stage}`);
    else if (v && typeof v === 'object' && !Array.isArray(v))
      for (const [k, c] of Object.entries(v)) if (k !== 'perClass' && k !== 'confusion' && k !== 'backend') walk(c, at ? `${at}.${k}` : k);
  };
  walk(summary, '');
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n − 1); 0 for a single value. */
const std = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));

/** Per point: the objective's mean ± std over its completed repeats, best first; points with none come last. */
export function pointStats(state: Pick<SweepState, 'points' | 'trials' | 'sweep'>, results: readonly TrialResult[]): PointStats[] {
  const byId = new Map(results.map((r) => [r.trial, r]));
  const sign = state.sweep.objective.goal === 'max' ? -1 : 1;
  const stats = state.points.map((params, point): PointStats => {
    const trials = state.trials.filter((t) => t.kind === 'trial' && t.point === point);
    const values = trials
      .map((t) => byId.get(t.id))
      .filter((r) => r?.status === 'completed' && r.objective !== undefined)
      .map((r) => r!.objective!);
    const baselineValues = [...new Set(trials.map((t) => t.baseline).filter((b): b is string => !!b))]
      .map((b) => byId.get(b))
      .filter((r) => r?.status === 'completed' && r.objective !== undefined)
      .map((r) => r!.objective!);
    return {
      point,
      params,
      mean: values.length ? mean(values) : NaN,
      std: values.length ? std(values) : NaN,
      n: values.length,
      values,
      baseline: baselineValues.length ? { mean: mean(baselineValues), std: std(baselineValues), n: baselineValues.length } : undefined,
      trials: trials.map((t) => t.id),
    };
  });
  return stats.sort((a, b) => (a.n === 0 ? 1 : 0) - (b.n === 0 ? 1 : 0) || sign * (a.mean - b.mean) || a.point - b.point);
}
