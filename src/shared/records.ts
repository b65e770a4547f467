/**
 * The records of a run directory. These shapes are a contract: other tools read `metrics.jsonl`,
 * `softlabels.jsonl`, `status.json` and `summary.json`, and the dashboard is rebuilt from them.
 */
import type { ConcreteBackend } from './config';

export type StudentKind = 'kd' | 'baseline';
export type RunStatus = 'running' | 'completed' | 'failed' | 'stopped' | 'interrupted';

/** One optimizer step; values are those of that batch before its update. `kd` includes T², `kdUnscaled` does not. */
export interface StepRecord {
  kind: 'step';
  student: StudentKind;
  epoch: number;
  step: number;
  loss: number;
  kd: number;
  kdUnscaled: number;
  ce: number;
  temperature: number;
  alpha: number;
  lr: number;
  /** Training accuracy of this batch (before the update). */
  accuracy?: number;
}

export interface ValidationMetrics {
  accuracy: number;
  macroF1: number;
  klToTeacher: number;
  agreement: number;
}

export interface EpochRecord {
  kind: 'epoch';
  student: StudentKind;
  epoch: number;
  val: ValidationMetrics;
  /** Mean over the epoch's steps. */
  train: { loss: number; accuracy: number };
  seconds: number;
}

export type MetricsRecord = StepRecord | EpochRecord;

/** `softlabels.jsonl`: the probe set's raw logits, so any temperature can be applied later without retraining. */
export type SoftLabelRecord =
  | { kind: 'teacher'; logits: number[][] }
  | { kind: 'student'; student: StudentKind; epoch: number; logits: number[][] };

/** `probe.json`: which validation rows the probe set is, and their pictures for the heatmap rows. */
export interface ProbeInfo {
  indices: number[];
  labels: number[];
  classNames: string[];
  inputShape: number[];
  /** For image-like inputs: each sample as 8-bit grey (or RGB) pixels, base64, row-major. */
  thumbnails?: { width: number; height: number; channels: number; pixels: string[] };
}

export interface BackendReport {
  name: ConcreteBackend;
  /** Why this backend: device, adapter, or what the ladder skipped and why. */
  reason: string;
  skipped: { name: ConcreteBackend; reason: string }[];
}

/** One rung of the backend ladder as `distill backends` reports it. */
export interface BackendSurveyEntry {
  name: ConcreteBackend;
  available: boolean;
  /** The backend's description when available (device, adapter), else why it cannot be used here. */
  detail: string;
  /** What the user can do about it, when unavailable. */
  fix?: string;
  /** What the backend's native code (Dawn, the Vulkan loader) printed while it was probed: for --verbose. */
  output?: string;
}

export interface StatusFile {
  status: RunStatus;
  runId: string;
  pid?: number;
  startedAt: string;
  updatedAt: string;
  /** Epoch (1-based) being trained or last finished, and of which student. */
  epoch?: number;
  student?: StudentKind;
  totalEpochs?: number;
  reason?: string;
  /** Seconds the engine has spent on this run, summed over the original session and every resume. */
  activeSeconds?: number;
}

export interface PerClassMetrics {
  precision: number[];
  recall: number[];
  f1: number[];
}

export interface ModelReport {
  accuracy: number;
  macroF1: number;
  /** null for a teacher given as precomputed logits. */
  params: number | null;
  sizeBytes?: number;
  klToTeacher?: number;
  agreement?: number;
  ece?: number;
  latencyMs?: { batch1: number; batch256: number };
  /** % of the teacher's test accuracy this model keeps. */
  teacherAccuracyKeptPct?: number;
  perClass: PerClassMetrics;
  confusion: number[][];
}

export interface Summary {
  runId: string;
  status: RunStatus;
  backend: BackendReport;
  classNames: string[];
  /** Test split size the figures are on. */
  testSamples: number;
  seconds: number;
  teacher: ModelReport;
  student: ModelReport;
  baseline?: ModelReport;
}
