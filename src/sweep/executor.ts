/**
 * Where trials run. The coordinator hands an executor one task at a time, at most `concurrency` at once; the local
 * executor runs each in an engine child process here, the Redis one (redisExecutor.ts) queues it for
 * `distill worker`s. Either way the trial's run directory ends up under the sweep directory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { THREADS_ENV, type DistillConfig } from '../shared/config';
import type { Summary } from '../shared/records';
import { readJson, readRun, RUN_FILES } from '../shared/runDir';
import { defaultEnginePath, EnginePool, engineNodeFlags, progressFraction, threadsPerProcess, type EngineTask, type EngineTaskHooks } from './engineTask';
import type { HostToEngine } from '../shared/protocol';

export interface TrialTask {
  sweepId: string;
  id: string;
  config: DistillConfig;
  /** Absolute; the run directory of the trial. */
  runDir: string;
}

export interface TrialOutcome {
  status: 'completed' | 'failed' | 'stopped' | 'interrupted';
  reason?: string;
  summary?: Summary;
  host: string;
  resumed: boolean;
}

export interface TeacherOutcome {
  modelFile?: string;
  source: string;
}

export interface Executor {
  /** Tasks at once; Infinity when the executor queues them itself. */
  readonly concurrency: number;
  /** For sweep.json: `local (2 processes)`, `redis://host:6379`. */
  readonly description: string;
  /** Train or find the teacher and cache its logits; undefined when stopped. Throws with the reason on failure. */
  prepareTeacher(config: DistillConfig): Promise<TeacherOutcome | undefined>;
  runTrial(task: TrialTask, onProgress: (fraction: number) => void, onLog?: (line: string) => void): Promise<TrialOutcome>;
  /** Ask every running task to stop at a step boundary with a checkpoint; no new task starts. */
  stop(): void;
  close(): Promise<void>;
}

/** What to do with a trial's run directory: nothing left (completed), resume it, or start it. */
export function trialStart(runDir: string): 'completed' | 'resume' | 'start' {
  const run = readRun(runDir);
  if (!run) return 'start';
  if (run.status === 'completed' && readJson<Summary>(path.join(runDir, RUN_FILES.summary))) return 'completed';
  if (run.status === 'running') return 'resume'; // its engine is gone, or readRun would not say running… unless alive
  return fs.existsSync(path.join(runDir, RUN_FILES.checkpoints)) ? 'resume' : 'start';
}

/** Starts an engine task for a trial: in a pool's child (`EnginePool.start`), or a child of its own. */
export type EngineLauncher = (message: HostToEngine, hooks: Omit<EngineTaskHooks, 'env'>) => EngineTask;

/**
 * Runs each task in an engine child process on this machine, from a pool of at most `concurrency` children kept
 * from trial to trial. Each child gets `DISTILL_THREADS` = the cores divided by the concurrency (at least 1), so
 * that `concurrency` multi-threaded engines do not oversubscribe the cores.
 */
export class LocalExecutor implements Executor {
  private readonly running = new Set<EngineTask>();
  private stopped = false;
  readonly description: string;
  /** What every engine child of this executor gets in its environment. */
  readonly childEnv: NodeJS.ProcessEnv;
  private readonly pool: EnginePool;

  constructor(
    readonly concurrency: number,
    enginePath = defaultEnginePath(),
    private readonly cores = os.availableParallelism(),
  ) {
    this.description = `local (${concurrency} process${concurrency === 1 ? '' : 'es'})`;
    const threads = threadsPerProcess(cores, concurrency);
    this.childEnv = { [THREADS_ENV]: String(threads) };
    this.pool = new EnginePool(enginePath, this.childEnv, engineNodeFlags(threads));
  }

  async prepareTeacher(config: DistillConfig): Promise<TeacherOutcome | undefined> {
    // In one of the pool's children, which then runs a trial with its code, backend and data loaded, while the
    // others load theirs: with the teacher cached, a fresh child just for it took a second before the first trial.
    this.pool.prestart(this.concurrency);
    // The teacher is prepared alone, before any trial: it may use every core, not a trial's share (the pool's
    // DISTILL_THREADS), which an explicit engine.threads overrides.
    const threads = config.engine.threads ?? threadsPerProcess(this.cores, 1);
    const preparing = this.track(this.pool.start({ type: 'teacher', config: { ...config, engine: { ...config.engine, threads } } }));
    // Meanwhile the others read the data, which a child's first trial otherwise did while the teacher's child was
    // already training (60,000 rows: 2.8 s); both then start level, and finish level too. A failure here shows
    // again, with its reason, in the teacher or in a trial.
    const loading = Array.from({ length: this.concurrency - 1 }, () => this.track(this.pool.start({ type: 'loadData', config })));
    const [{ finished, teacher }] = await Promise.all([preparing, ...loading]);
    if (finished.status === 'failed') throw new Error(finished.reason ?? 'the teacher could not be prepared');
    return teacher && { modelFile: teacher.modelFile, source: teacher.source };
  }

  async runTrial(task: TrialTask, onProgress: (fraction: number) => void, onLog?: (line: string) => void): Promise<TrialOutcome> {
    return runTrialHere(
      task,
      (message, hooks) => this.pool.start(message, hooks),
      onProgress,
      onLog,
      (t) => this.track(t),
      () => this.stopped,
    );
  }

  private async track<T>(task: EngineTask & { done: Promise<T> }): Promise<T> {
    this.running.add(task);
    if (this.stopped) task.stop();
    try {
      return await task.done;
    } finally {
      this.running.delete(task);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.running) t.stop();
  }

  async close(): Promise<void> {
    await Promise.all([...this.running].map((t) => t.done));
    this.pool.close();
  }
}

/** A trial in an engine child here: started fresh, resumed from its checkpoint, or read back when already done. */
export async function runTrialHere(
  task: TrialTask,
  launch: EngineLauncher,
  onProgress: (fraction: number) => void,
  onLog: ((line: string) => void) | undefined,
  track: <T>(t: EngineTask & { done: Promise<T> }) => Promise<T>,
  isStopped: () => boolean,
): Promise<TrialOutcome> {
  const host = os.hostname();
  const how = trialStart(task.runDir);
  if (how === 'completed') return { status: 'completed', summary: readJson<Summary>(path.join(task.runDir, RUN_FILES.summary)), host, resumed: true };
  if (isStopped()) return { status: 'stopped', host, resumed: false };
  if (how === 'start') fs.rmSync(task.runDir, { recursive: true, force: true });
  const message =
    how === 'resume' ? ({ type: 'resume', runDir: task.runDir } as const) : ({ type: 'start', config: task.config, runDir: task.runDir } as const);
  const engine = launch(message, {
    onMessage: (m) => {
      if (m.type === 'steps' || m.type === 'epoch') {
        const f = progressFraction(m.progress);
        if (f !== undefined) onProgress(f);
      } else if (m.type === 'log' && (m.level === 'warn' || m.level === 'error')) onLog?.(`${task.id}: ${m.message}`);
    },
  });
  const { finished } = await track(engine);
  return { status: finished.status, reason: finished.reason, summary: finished.summary, host, resumed: how === 'resume' };
}
