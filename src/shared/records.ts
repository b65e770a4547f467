/**
 * The records of a run directory. These shapes are a contract: other tools read `metrics.jsonl`,
 * `softlabels.jsonl`, `status.json` and `summary.json`, and the dashboard is rebuilt from them.
 */
import type { ConcreteBackend } from './config';

export type StudentKind = 'kd' | 'baseline';
/** A model the run trains: the students, and a preset teacher when it is not cached yet. */
export type TrainedRole = StudentKind | 'teacher';
export type RunStatus = 'running' | 'completed' | 'failed' | 'stopped' | 'interrupted';

/** One optimizer step; values are those of that batch before its update. `kd` includes T², `kdUnscaled` does not. */
export interface StepRecord {
  kind: 'step';
  /** Which model: a preset teacher's own training is recorded too (its `kd` terms are 0, `alpha` 0). */
  student: TrainedRole;
  epoch: number;
  step: number;
  loss: number;
  kd: number;
  kdUnscaled: number;
  ce: number;
  temperature: number;
  alpha: number;
  lr: number;
  /** `divergence: "dkd"` only: the batch's TCKD and NCKD, before T² and before their weights (dkd.alpha, dkd.beta). */
  tckd?: number;
  nckd?: number;
  /**
   * `distillation.features` only: Σ weight·loss over the feature pairs, the part of `loss` they add; and each pair's
   * loss before its weight, in the config's order.
   */
  feature?: number;
  featureParts?: number[];
  /** Training accuracy of this batch (before the update); in a transfer-set run, over its labelled rows only. */
  accuracy?: number;
  /**
   * Transfer-set runs (`data.unlabeled`, `data.labeled`) only: rows of this batch with a label. `ce` and `accuracy`
   * are over them (ce is 0 and accuracy absent when there are none); loss, kd and kdUnscaled are over all rows.
   */
  labeled?: number;
}

export interface ValidationMetrics {
  accuracy: number;
  macroF1: number;
  klToTeacher: number;
  agreement: number;
}

export interface EpochRecord {
  kind: 'epoch';
  /** For the teacher, `klToTeacher` is 0 and `agreement` 1 by definition; charts of those leave it out. */
  student: TrainedRole;
  epoch: number;
  /** Absent when the run holds out no validation rows (data.validationSplit 0). */
  val?: ValidationMetrics;
  /** Mean over the epoch's steps (accuracy: over its labelled rows). */
  train: { loss: number; accuracy: number; feature?: number };
  /** Row visits of the epoch with and without a label (a row cycled twice counts twice). */
  rows?: { labeled: number; unlabeled: number };
  seconds: number;
}

export type MetricsRecord = StepRecord | EpochRecord;

/**
 * `softlabels.jsonl`: the probe set's raw logits, so any temperature can be applied later without retraining. The
 * teacher's record comes first; for a list of teachers it is the ensemble's, and one record per member follows it,
 * in list order (runs written before members were recorded have none). Students' records follow, one per epoch.
 */
export type SoftLabelRecord =
  | { kind: 'teacher'; member?: undefined; logits: number[][] }
  | TeacherMemberSoftLabels
  | { kind: 'student'; student: StudentKind; epoch: number; logits: number[][] };

/** One teacher of an ensemble on the probe rows. */
export interface TeacherMemberSoftLabels {
  kind: 'teacher';
  /** Its index in the config's `teacher` list. */
  member: number;
  /** What the report calls it: `Teacher 1 (w 0.25)`. */
  label: string;
  /** The teacher itself (its model file, logits files or preset), as the report's `teachers[i].name`. */
  name: string;
  logits: number[][];
}

/** `probe.json`: which validation rows the probe set is, and their pictures for the heatmap rows. */
export interface ProbeInfo {
  /** Row indices into the split the probe rows come from (see `split`). */
  indices: number[];
  /** Where the probe rows come from: the validation rows, or the training rows when there are none. Default validation. */
  split?: 'validation' | 'train';
  labels: number[];
  classNames: string[];
  inputShape: number[];
  /** For image-like inputs: each sample as 8-bit grey (or RGB) pixels, base64, row-major. */
  thumbnails?: { width: number; height: number; channels: number; pixels: string[] };
}

/**
 * `input.json`: what a model of this run expects, so an exported model can be used without the run: the per-sample
 * input shape, the class names in label order, and the scaling applied to raw features, `(x - shift) * scale`
 * per feature (`scale255`: x / 255; `none`: as stored).
 */
export interface InputSpec {
  inputShape: number[];
  classNames: string[];
  normalization: { method: 'none' | 'scale255' | 'minmax' | 'standard'; shift?: number[]; scale?: number[] };
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
  /** Unavailable to `auto` only (a software WebGPU adapter): `engine.backend` naming it loads it. */
  byName?: boolean;
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
  student?: TrainedRole;
  totalEpochs?: number;
  reason?: string;
  /** Seconds the engine has spent on this run, summed over the original session and every resume. */
  activeSeconds?: number;
  /** Rows held out for per-epoch validation; 0 (data.validationSplit 0) means epochs have no validation metrics. */
  validationRows?: number;
  /** Said once about the run's shape, e.g. that it has no validation split. */
  note?: string;
}

export interface PerClassMetrics {
  precision: number[];
  recall: number[];
  f1: number[];
}

/** Latency measured in `rounds` rounds (each the mean of several calls): per-sample ms, its median, quartiles and range. */
export interface LatencySpread {
  rounds: number;
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
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
  /** Per-sample milliseconds: the median over `spread`'s rounds (older summaries: one mean, no spread). */
  latencyMs?: { batch1: number; batch256: number; spread?: { batch1: LatencySpread; batch256: LatencySpread } };
  /** What ran the model when it is not the run's backend, e.g. `onnxruntime-node 1.30.0 (cpu)` for an ONNX teacher. */
  runtime?: string;
  /** % of the teacher's test accuracy this model keeps. */
  teacherAccuracyKeptPct?: number;
  perClass: PerClassMetrics;
  confusion: number[][];
  /** Bytes of the model folder on disk (model.json and shards), and the same files gzipped one by one. */
  diskBytes?: number;
  gzipBytes?: number;
}

/** One teacher of a list: what it is, its normalised weight (the weights sum to 1), its test report. */
export interface TeacherMemberReport extends ModelReport {
  name: string;
  weight: number;
}

/** A transfer-set run's training rows: with a label, and learnt from the teacher only. */
export interface TransferRows {
  labeled: number;
  unlabeled: number;
}

/** A compression stage of `compress` (see config.ts). Folder: `compressed/<stage>/`. */
export const COMPRESSION_STAGE_NAMES = ['prune', 'low-rank', 'float16', 'uint8', 'uint8-per-channel'] as const;
export type CompressionStageName = (typeof COMPRESSION_STAGE_NAMES)[number];
export type CompressionKind = 'prune' | 'low-rank' | 'quantize';

/** Sparsity of one pruned kernel, counted on the saved weights. */
export interface LayerSparsity {
  weight: string;
  params: number;
  zeros: number;
  sparsity: number;
}

/** What a low-rank stage did to one kernel. */
export interface LayerRank {
  layer: string;
  shape: [number, number];
  rank: number;
  fullRank: number;
  /** Kept share of the squared singular values. */
  energy: number;
  paramsBefore: number;
  paramsAfter: number;
  /** Why the layer was left as it was, when it was. */
  kept?: string;
}

/** What a stage's transformation produced, written beside its model as `compressed/<stage>/stage.json`. */
export interface CompressionStageInfo {
  stage: CompressionStageName;
  kind: CompressionKind;
  /** The model the stage started from: `student` (the KD student) or an earlier stage's name. */
  input: 'student' | CompressionStageName;
  /** Run-relative folder of the stage's model, e.g. `compressed/prune`. */
  dir: string;
  notes: string[];
  sparsity?: { target: number; overall: number; scope: 'global' | 'layer'; layers: LayerSparsity[] };
  ranks?: LayerRank[];
  /** Weights as stored: name → `float32`, `float16`, `uint8` or `uint8 per channel`. */
  storage?: Record<string, string>;
  fineTune?: { epochs: number; steps: number; learningRate: number };
}

/** A stage that ran: its info and its report card on the test split, evaluated as loaded back from disk. */
export interface CompressionResult extends CompressionStageInfo, ModelReport {
  /** Params that are not exactly zero in the loaded model. */
  nonZeroParams: number;
  /** Teacher's weight bytes ÷ this model's (undefined for a logits-only teacher). */
  sizeRatioToTeacher?: number;
  /** Test accuracy minus the KD student's, in percentage points. */
  accuracyChangePts: number;
}

/** A stage that could not apply to its input (e.g. no Dense layer to factorize): skipped, with the reason. */
export interface CompressionSkipped {
  stage: CompressionStageName;
  kind: CompressionKind;
  input: 'student' | CompressionStageName;
  skipped: string;
}

export type CompressionEntry = CompressionResult | CompressionSkipped;
export const isCompressionSkipped = (e: CompressionEntry): e is CompressionSkipped => 'skipped' in e;

export interface Summary {
  runId: string;
  status: RunStatus;
  backend: BackendReport;
  classNames: string[];
  /** Test split size the figures are on. */
  testSamples: number;
  seconds: number;
  /** With a list of teachers: their ensemble (the logits the students learnt from). */
  teacher: ModelReport;
  /**
   * A list of teachers (`teacher: [ … ]`): each one's own report, in config order; `klToTeacher` and `agreement` are
   * to the ensemble (`teacher`). `ensemble` says how they were combined.
   */
  teachers?: TeacherMemberReport[];
  ensemble?: { mode: 'logits' | 'probabilities'; temperature?: number };
  student: ModelReport;
  baseline?: ModelReport;
  /**
   * Set for a transfer-set run (`data.unlabeled`, `data.labeled`): the KD student trained on these rows, the scratch
   * baseline on the labelled ones only (cycled to the same number of optimizer steps).
   */
  transfer?: TransferRows;
  /**
   * Set for a run with `distillation.features`: each pair with its resolved weight, and the KD student's feature term
   * (the epoch mean of Σ weight·loss) in its first and last epoch.
   */
  features?: {
    pairs: { teacher: string; student: string; loss: 'mse' | 'attention'; weight: number; teacherIndex?: number }[];
    firstEpoch?: number;
    lastEpoch?: number;
  };
  /** The `compress` stages in the order they ran (prune → low-rank → quantize), when the config has any. */
  compression?: CompressionEntry[];
}
