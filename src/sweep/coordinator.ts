/**
 * The sweep coordinator: finds or creates the sweep directory, prepares each distinct teacher once, then runs the
 * shared baselines and the trials through an executor, appending one results.jsonl line per finished trial. A rerun
 * of the same sweep skips what results.jsonl has and resumes the rest from their checkpoints, so no trial runs (or
 * is counted) twice. It never loads tfjs: trials run in engine processes.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { DistillConfig } from '../shared/config';
import { DistillError, errorMessage } from '../shared/errors';
import { isProcessAlive, newRunId, writeJsonAtomic } from '../shared/runDir';
import {
  appendResult,
  listSweeps,
  pointStats,
  readResults,
  summaryNumbers,
  SWEEP_FILES,
  sweepPath,
  writeSweepState,
  type SweepState,
  type TrialResult,
} from '../shared/sweepDir';
import { setPath, type PlannedTrial, type SweepPlan } from '../shared/sweepPlan';
import { resolveConfigPaths } from '../shared/configFile';
import { validateConfig } from '../shared/validate';
import type { Executor, TrialOutcome } from './executor';

export type SweepEvent =
  | { type: 'sweep'; dir: string; sweepId: string; resumed: boolean; total: number; done: number; executor: string }
  | { type: 'log'; message: string }
  | { type: 'trialStarted'; id: string }
  | { type: 'trialProgress'; id: string; fraction: number }
  | { type: 'trialFinished'; id: string; outcome: TrialOutcome; result?: TrialResult };

export interface SweepRunOptions {
  executor: Executor;
  /** Start a fresh sweep even if an unfinished one of the same name and content exists. */
  fresh?: boolean;
  onEvent?(e: SweepEvent): void;
}

export interface SweepOutcome {
  dir: string;
  state: SweepState;
  results: TrialResult[];
}

/** The unfinished sweep of this plan to continue, if any (newest first); a finished one is returned too, to report. */
export function findSweep(plan: SweepPlan): { dir: string; state: SweepState } | undefined {
  return listSweeps(plan.sweepsDir).find((s) => s.state.name === plan.sweep.name && s.state.contentHash === plan.contentHash);
}

export class SweepCoordinator {
  private stopRequested = false;
  /** Trials with a results.jsonl line: never a second one, whatever an executor reports. */
  private readonly recorded = new Set<string>();
  constructor(
    private readonly plan: SweepPlan,
    private readonly options: SweepRunOptions,
  ) {}

  /** Stop every running trial at a step boundary (with a checkpoint) and start no more. */
  requestStop(): void {
    this.stopRequested = true;
    this.options.executor.stop();
  }

  async run(): Promise<SweepOutcome> {
    const { plan, options } = this;
    const emit = (e: SweepEvent) => options.onEvent?.(e);
    const existing = options.fresh ? undefined : findSweep(plan);
    if (
      existing?.state.status === 'running' &&
      isProcessAlive(existing.state.pid) &&
      existing.state.host === os.hostname() &&
      existing.state.pid !== process.pid
    ) {
      throw new DistillError(
        'usage',
        `Sweep ${existing.state.sweepId} is being run by process ${existing.state.pid} on this machine. Stop it first, or pass --new to start another.`,
        { file: existing.dir },
      );
    }
    const dir = existing?.dir ?? path.join(plan.sweepsDir, newRunId(plan.sweep.name));
    const all = [...plan.baselines, ...plan.trials];
    const now = new Date().toISOString();
    let state: SweepState = {
      version: 1,
      sweepId: path.basename(dir),
      name: plan.sweep.name,
      file: plan.file,
      contentHash: plan.contentHash,
      status: 'running',
      createdAt: existing?.state.createdAt ?? now,
      updatedAt: now,
      pid: process.pid,
      host: os.hostname(),
      executor: options.executor.description,
      sweep: plan.sweep,
      base: plan.base,
      axes: plan.axes,
      points: plan.points,
      trials: all.map((t) => ({
        id: t.id,
        kind: t.kind,
        point: t.point,
        repeat: t.repeat,
        seed: t.seed,
        params: t.params,
        runDir: path.join(SWEEP_FILES.trials, t.id),
        baseline: t.baseline,
      })),
    };
    writeSweepState(dir, state);
    const results = readResults(dir);
    for (const r of results) this.recorded.add(r.trial);
    const todo = all.filter((t) => !this.recorded.has(t.id));
    emit({
      type: 'sweep',
      dir,
      sweepId: state.sweepId,
      resumed: !!existing,
      total: all.length,
      done: all.length - todo.length,
      executor: options.executor.description,
    });

    const save = (patch: Partial<SweepState>) => {
      state = { ...state, ...patch, updatedAt: new Date().toISOString() };
      writeSweepState(dir, state);
    };
    try {
      if (todo.length) {
        const teachers = await this.prepareTeachers(todo, emit);
        if (!teachers) {
          save({ status: 'stopped', reason: 'Stopped while preparing the teacher.', pid: undefined });
          return { dir, state, results };
        }
        await this.runAll(
          todo,
          dir,
          teachers,
          (r) => {
            appendResult(dir, r);
            results.push(r);
            save({ best: this.best(state, results) });
          },
          emit,
        );
      }
      const finished = all.every((t) => results.some((r) => r.trial === t.id));
      const failed = results.filter((r) => r.status === 'failed').length;
      save({
        status: finished ? 'completed' : 'stopped',
        reason: finished
          ? failed
            ? `${failed} of ${all.length} trials failed; see results.jsonl.`
            : undefined
          : 'Stopped; run the sweep again to continue it.',
        best: this.best(state, results),
        pid: undefined,
      });
      if (state.best) this.writeBestConfig(dir, state.best.params);
      return { dir, state, results };
    } catch (e) {
      save({ status: 'failed', reason: errorMessage(e), pid: undefined });
      throw e;
    }
  }

  /**
   * One teacher preparation per distinct teacher (and data); preset teachers become their cached model files. A
   * teacher that cannot be prepared (a missing file) fails the trials that need it, not the sweep.
   */
  private async prepareTeachers(todo: PlannedTrial[], emit: (e: SweepEvent) => void): Promise<Map<string, DistillConfig['teacher'] | Error> | undefined> {
    const out = new Map<string, DistillConfig['teacher'] | Error>();
    for (const t of todo) {
      if ('logits' in t.config.teacher) continue;
      const key = teacherKey(t.config, this.plan.base.seed);
      if (out.has(key)) continue;
      if (this.stopRequested) return undefined;
      emit({
        type: 'log',
        message: `Preparing the teacher once for every trial (${Array.isArray(t.config.teacher) ? `an ensemble of ${t.config.teacher.length} teachers` : 'preset' in t.config.teacher ? `${t.config.teacher.preset}, trained once and cached` : t.config.teacher.model}; its logits are cached)…`,
      });
      // The seed of the base config: repeats vary the student's seed, not the teacher.
      const teacherConfig = { ...structuredClone(t.config), seed: this.plan.base.seed };
      try {
        const prepared = await this.options.executor.prepareTeacher(teacherConfig);
        if (!prepared) return undefined;
        emit({ type: 'log', message: `Teacher: ${prepared.source}` });
        out.set(key, prepared.modelFile ? { model: prepared.modelFile } : t.config.teacher);
      } catch (e) {
        const error = new Error(`The teacher could not be prepared on ${os.hostname()}: ${errorMessage(e)}`);
        emit({ type: 'log', message: `${error.message} The trials that need it fail; the others run.` });
        out.set(key, error);
      }
    }
    return out;
  }

  private async runAll(
    todo: PlannedTrial[],
    dir: string,
    teachers: Map<string, DistillConfig['teacher'] | Error>,
    record: (r: TrialResult) => void,
    emit: (e: SweepEvent) => void,
  ): Promise<void> {
    const queue = [...todo];
    const executor = this.options.executor;
    const lanes = Math.max(1, Math.min(queue.length, Number.isFinite(executor.concurrency) ? executor.concurrency : queue.length));
    const lane = async () => {
      for (let t = queue.shift(); t && !this.stopRequested; t = queue.shift()) {
        const config = structuredClone(t.config);
        const teacher = teachers.get(teacherKey(t.config, this.plan.base.seed));
        const runDir = path.join(dir, SWEEP_FILES.trials, t.id);
        emit({ type: 'trialStarted', id: t.id });
        let outcome: TrialOutcome;
        try {
          if (teacher instanceof Error) throw teacher;
          if (teacher) config.teacher = teacher;
          outcome = await executor.runTrial(
            { sweepId: path.basename(dir), id: t.id, config, runDir },
            (fraction) => emit({ type: 'trialProgress', id: t.id, fraction }),
            (line) => emit({ type: 'log', message: line }),
          );
        } catch (e) {
          outcome = { status: 'failed', reason: errorMessage(e), host: os.hostname(), resumed: false };
        }
        let result: TrialResult | undefined;
        const already = this.recorded.has(t.id);
        if (!already && (outcome.status === 'completed' || outcome.status === 'failed')) {
          const metrics = outcome.summary ? summaryNumbers(outcome.summary) : {};
          const objective = metrics[this.plan.sweep.objective.metric];
          result = {
            trial: t.id,
            kind: t.kind,
            point: t.point,
            params: t.params,
            seed: t.seed,
            status: outcome.status === 'completed' && outcome.summary ? 'completed' : 'failed',
            reason: outcome.reason ?? (outcome.summary ? undefined : 'The trial ended without a summary.'),
            runDir: path.join(SWEEP_FILES.trials, t.id),
            baseline: t.baseline,
            objective,
            metrics,
            host: outcome.host,
            finishedAt: new Date().toISOString(),
          };
          this.recorded.add(t.id);
          record(result);
        }
        emit({ type: 'trialFinished', id: t.id, outcome, result });
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
  }

  private best(state: SweepState, results: TrialResult[]): SweepState['best'] {
    const [top] = pointStats(state, results);
    if (!top || top.n === 0) return undefined;
    const byId = new Map(results.map((r) => [r.trial, r]));
    const sign = state.sweep.objective.goal === 'max' ? 1 : -1;
    const trial = top.trials
      .map((id) => byId.get(id))
      .filter((r) => r?.status === 'completed')
      .sort((a, b) => sign * (b!.objective! - a!.objective!))[0]!;
    return { ...top, trial: trial.trial, runDir: trial.runDir };
  }

  /** best.distill.json: the base config at the best point, runnable as it is (paths absolute). */
  private writeBestConfig(dir: string, params: Record<string, unknown>): void {
    const raw = structuredClone(this.plan.rawBase);
    for (const [axis, v] of Object.entries(params)) setPath(raw, axis, v);
    raw.name = `${this.plan.sweep.name}-best`;
    const r = validateConfig(raw);
    if (!r.ok) return;
    const config = resolveConfigPaths(r.config, this.plan.baseDir);
    writeJsonAtomic(sweepPath(dir, 'best'), config);
  }
}

function teacherKey(config: DistillConfig, seed: number): string {
  return JSON.stringify({ teacher: config.teacher, data: config.data, seed: 'preset' in config.teacher ? seed : undefined, cache: config.output.cacheDir });
}
