/**
 * Messages between the extension host and the engine child process (IPC), one discriminated union per direction.
 * The CLI and the tests use the same messages through a callback. The host⇄webview protocol lives in
 * `webviewProtocol.ts`.
 */
import type { ConcreteBackend, DistillConfig } from './config';
import type { BackendReport, EpochRecord, RunStatus, SoftLabelRecord, StepRecord, Summary, TrainedRole } from './records';

// ---------------------------------------------------------------- host → engine

/**
 * Set to `1` in an engine child's environment by a parent that keeps it for several tasks (a sweep's process pool):
 * after a task's `finished`, the child waits for the next `start`/`resume` instead of exiting, so a trial does not
 * pay for loading the engine and starting its backend again.
 */
export const ENGINE_REUSE_ENV = 'DISTILL_ENGINE_REUSE';

export type HostToEngine =
  /** Start a new run in `runDir` with an already-validated config whose paths are absolute. */
  | { type: 'start'; config: DistillConfig; runDir: string }
  /** Continue the run in `runDir` from its last checkpoint. */
  | { type: 'resume'; runDir: string }
  /** Finish the current step, write a checkpoint, and end with status `stopped`. */
  | { type: 'stop' }
  /**
   * For a sweep, before its trials: train (or find cached) the teacher and cache its logits, answer `teacherReady`
   * and `finished`. No run directory is written.
   */
  | { type: 'teacher'; config: DistillConfig }
  /**
   * For a sweep's other pool children while one prepares the teacher: start the backend and read the config's data
   * into the engine's kept dataset, so that the first trial there starts as the teacher's child does; answers
   * `finished`. No run directory is written.
   */
  | { type: 'loadData'; config: DistillConfig }
  /**
   * A helper process of a run (parallelStudents.ts): train only `student` of the run in `runDir` on `backend`,
   * writing its checkpoints and final model there; every record is sent, not written (the run's process writes).
   */
  | { type: 'trainStudent'; runDir: string; student: 'baseline'; backend: ConcreteBackend };

// ---------------------------------------------------------------- engine → host

export type EnginePhase = 'loading-data' | 'teacher-training' | 'teacher-logits' | 'training' | 'compressing' | 'evaluating' | 'writing';

/** Where the whole run stands: every model it trains (teacher, KD student, baseline) in one bar and one ETA. */
export interface RunProgress {
  /** 0…1 of the run's training work, each model's steps weighted by its cost per step. */
  fraction: number;
  /** Seconds left for the whole run, once a rate has been measured. */
  etaSeconds?: number;
  /** 1-based: which of the run's training phases is under way, e.g. 1 of 3 for the teacher. */
  phase: number;
  phases: number;
}

export interface Progress {
  /** `compress`: the KD fine-tuning of a pruning or low-rank stage. */
  student: TrainedRole | 'compress';
  epoch: number;
  totalEpochs: number;
  step: number;
  stepsPerEpoch: number;
  /** Seconds left for this model's training, when it can be estimated. */
  etaSeconds?: number;
  loss?: number;
  /** The whole run; absent in messages from engines before it existed. */
  run?: RunProgress;
}

/** `debug`: for the log only (the extension's output channel, the CLI with --verbose), never the terminal by default. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type EngineToHost =
  /** First message: the run exists on disk, and the backend was chosen. */
  | { type: 'started'; runId: string; runDir: string; backend: BackendReport; resumed: boolean }
  /** A long stage began (data loading, teacher training, …). */
  | { type: 'phase'; phase: EnginePhase; message: string }
  /** Step records since the last message, batched to at most ~20 messages/s. */
  | { type: 'steps'; records: StepRecord[]; progress: Progress }
  /** An epoch ended; validation metrics. */
  | { type: 'epoch'; record: EpochRecord; progress: Progress }
  /** Probe-set logits (teacher once, students each epoch). */
  | { type: 'softLabels'; record: SoftLabelRecord }
  | { type: 'log'; level: LogLevel; message: string }
  /** The answer to `teacher`: the teacher's model.json (absent for precomputed logits), its logits now cached. */
  | { type: 'teacherReady'; modelFile?: string; source: string }
  /** The run ended. `summary` is present when it completed. */
  | { type: 'finished'; status: Exclude<RunStatus, 'running'>; reason?: string; summary?: Summary }
  /** A kept child (`ENGINE_REUSE_ENV`) is done with its task, after `finished`, and takes the next one. */
  | { type: 'idle' };

export type EngineMessageType = EngineToHost['type'];
