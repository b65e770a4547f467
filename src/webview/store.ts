/**
 * The webview's model of the runs it shows, built from the host's snapshot and grown by its deltas. Step records
 * live in growable typed columns (a million steps is tens of MB, not hundreds); soft labels are kept as raw logits
 * so any temperature can be applied here.
 */
import type { DistillConfig } from '../shared/config';
import type { EpochRecord, ProbeInfo, RunStatus, SoftLabelRecord, StatusFile, StudentKind, Summary, TrainedRole } from '../shared/records';
import { STEP_METRICS, type DashboardView, type RunData, type RunDelta, type StepColumns, type StepMetric } from '../shared/webviewProtocol';
import { F32Column, F64Column, type Column } from './charts/columns';

export class StepTable {
  readonly x = new F64Column();
  readonly epoch = new F32Column();
  readonly metrics = Object.fromEntries(STEP_METRICS.map((m) => [m, new F32Column()])) as unknown as Record<StepMetric, Column>;

  append(c: StepColumns): void {
    this.x.append(c.globalStep);
    this.epoch.append(c.epoch);
    for (const m of STEP_METRICS) this.metrics[m].append(c[m]);
  }

  get length(): number {
    return this.x.length;
  }

  /** Whether the metric has any finite value (baseline students have no meaningful T, optional accuracy may be absent). */
  has(metric: StepMetric): boolean {
    const column = this.metrics[metric];
    for (let i = 0; i < column.length; i++) if (Number.isFinite(column.at(i))) return true;
    return false;
  }

  get byteLength(): number {
    return this.x.byteLength + this.epoch.byteLength + STEP_METRICS.reduce((n, m) => n + this.metrics[m].byteLength, 0);
  }
}

/** Per-epoch values as columns, so epoch curves go through the same chart code as step curves. */
export const EPOCH_METRICS = {
  trainLoss: (r: EpochRecord) => r.train.loss,
  trainAccuracy: (r: EpochRecord) => r.train.accuracy,
  // NaN for a run without validation rows (data.validationSplit 0): no point, and `has` says the curve is absent.
  valAccuracy: (r: EpochRecord) => r.val?.accuracy ?? NaN,
  valMacroF1: (r: EpochRecord) => r.val?.macroF1 ?? NaN,
  klToTeacher: (r: EpochRecord) => r.val?.klToTeacher ?? NaN,
  agreement: (r: EpochRecord) => r.val?.agreement ?? NaN,
  seconds: (r: EpochRecord) => r.seconds,
} as const;
export type EpochMetric = keyof typeof EPOCH_METRICS;

export class EpochTable {
  readonly x = new F64Column();
  readonly metrics = Object.fromEntries(Object.keys(EPOCH_METRICS).map((m) => [m, new F32Column()])) as unknown as Record<EpochMetric, Column>;
  readonly records: EpochRecord[] = [];

  /** Whether the metric has any finite value: validation metrics are absent in a run without a validation split. */
  has(metric: EpochMetric): boolean {
    const column = this.metrics[metric];
    for (let i = 0; i < column.length; i++) if (Number.isFinite(column.at(i))) return true;
    return false;
  }

  append(r: EpochRecord): void {
    this.records.push(r);
    this.x.push(r.epoch);
    for (const [m, read] of Object.entries(EPOCH_METRICS) as [EpochMetric, (r: EpochRecord) => number][]) this.metrics[m].push(read(r));
  }
}

/** Probe-set logits as a row-major [rows, classes] matrix. */
export interface LogitMatrix {
  rows: number;
  classes: number;
  flat: Float32Array;
}

const toMatrix = (logits: number[][]): LogitMatrix => {
  const rows = logits.length;
  const classes = rows ? logits[0].length : 0;
  const flat = new Float32Array(rows * classes);
  logits.forEach((row, i) => flat.set(row, i * classes));
  return { rows, classes, flat };
};

/** What a delta touched, so views redraw only what changed. */
export interface RunChanges {
  steps: boolean;
  epochs: boolean;
  softLabels: boolean;
  meta: boolean;
  reset: boolean;
}

export class RunModel {
  runId: string;
  readonly runDir: string;
  status: RunStatus;
  statusFile?: StatusFile;
  config?: DistillConfig;
  probe?: ProbeInfo;
  summary?: Summary;
  skippedLines: number;
  readonly steps = new Map<TrainedRole, StepTable>();
  readonly epochs = new Map<TrainedRole, EpochTable>();
  /** The teacher's probe logits: for a list of teachers, the ensemble's. */
  teacherLogits?: LogitMatrix;
  /** A list of teachers: each member's probe logits, by its index in the list (empty for a single teacher). */
  readonly teacherMembers: { label: string; name: string; logits: LogitMatrix }[] = [];
  readonly studentLogits = new Map<StudentKind, Map<number, LogitMatrix>>();

  constructor(data: RunData) {
    this.runId = data.runId;
    this.runDir = data.runDir;
    this.status = data.status;
    this.statusFile = data.statusFile;
    this.config = data.config;
    this.probe = data.probe;
    this.summary = data.summary;
    this.skippedLines = data.skippedLines;
    this.appendSteps(data.steps);
    this.appendEpochs(data.epochs);
    this.appendSoftLabels(data.softLabels);
  }

  /** Applies a delta in place; a `reset` delta is handled by the store, which replaces the model. */
  apply(delta: RunDelta): RunChanges {
    const changes: RunChanges = { steps: false, epochs: false, softLabels: false, meta: false, reset: false };
    if (delta.steps?.length) changes.steps = this.appendSteps(delta.steps);
    if (delta.epochs?.length) changes.epochs = this.appendEpochs(delta.epochs);
    if (delta.softLabels?.length) changes.softLabels = this.appendSoftLabels(delta.softLabels);
    if (delta.status) this.status = delta.status;
    if (delta.statusFile) this.statusFile = delta.statusFile;
    if (delta.config) this.config = delta.config;
    if (delta.probe) this.probe = delta.probe;
    if (delta.summary) this.summary = delta.summary;
    changes.meta = !!(delta.status || delta.statusFile || delta.config || delta.probe || delta.summary);
    return changes;
  }

  private appendSteps(columns: readonly StepColumns[]): boolean {
    for (const c of columns) {
      let table = this.steps.get(c.student);
      if (!table) this.steps.set(c.student, (table = new StepTable()));
      table.append(c);
    }
    return columns.length > 0;
  }

  private appendEpochs(records: readonly EpochRecord[]): boolean {
    for (const r of records) {
      let table = this.epochs.get(r.student);
      if (!table) this.epochs.set(r.student, (table = new EpochTable()));
      table.append(r);
    }
    return records.length > 0;
  }

  private appendSoftLabels(records: readonly SoftLabelRecord[]): boolean {
    for (const r of records) {
      if (r.kind === 'teacher') {
        if (r.member === undefined) this.teacherLogits = toMatrix(r.logits);
        else this.teacherMembers[r.member] = { label: r.label, name: r.name, logits: toMatrix(r.logits) };
        continue;
      }
      let byEpoch = this.studentLogits.get(r.student);
      if (!byEpoch) this.studentLogits.set(r.student, (byEpoch = new Map()));
      byEpoch.set(r.epoch, toMatrix(r.logits));
    }
    return records.length > 0;
  }

  /** Students in display order: the KD student first. */
  get students(): StudentKind[] {
    const all = new Set<TrainedRole>([...this.steps.keys(), ...this.epochs.keys(), ...this.studentLogits.keys()]);
    return (['kd', 'baseline'] as const).filter((s) => all.has(s));
  }

  /** Every model with curves, in the order the run trains them: a preset teacher trained in this run first. */
  get trained(): TrainedRole[] {
    const all = new Set<TrainedRole>([...this.steps.keys(), ...this.epochs.keys()]);
    return (['teacher', 'kd', 'baseline'] as const).filter((s) => all.has(s));
  }

  get classNames(): string[] {
    const fromProbe = this.probe?.classNames ?? this.summary?.classNames ?? this.config?.data.classNames;
    if (fromProbe?.length) return fromProbe;
    const classes = this.teacherLogits?.classes ?? 0;
    return Array.from({ length: classes }, (_, i) => String(i));
  }

  /** The temperature the run distils at: the last step's T, else the configured one. */
  get temperature(): number {
    const table = this.steps.get('kd');
    if (table?.length) {
      const t = table.metrics.temperature.at(table.length - 1);
      if (Number.isFinite(t) && t > 0) return t;
    }
    return this.config?.distillation.temperature ?? 4;
  }

  get byteLength(): number {
    return [...this.steps.values()].reduce((n, t) => n + t.byteLength, 0);
  }
}

export type StoreEvent = { kind: 'snapshot' } | { kind: 'runs' } | { kind: 'delta'; changes: Map<RunModel, RunChanges> };

/** All runs shown; the first one is the dashboard's own run, the rest are being compared with it. */
export class DashboardStore {
  view: DashboardView = 'run';
  runs: RunModel[] = [];
  loaded = false;
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  subscribe(listener: (e: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: StoreEvent): void {
    for (const l of this.listeners) l(e);
  }

  loadSnapshot(view: DashboardView, runs: readonly RunData[]): void {
    this.view = view;
    this.runs = runs.map((r) => new RunModel(r));
    this.loaded = true;
    this.emit({ kind: 'snapshot' });
  }

  applyDeltas(deltas: readonly RunDelta[]): void {
    const changes = new Map<RunModel, RunChanges>();
    for (const d of deltas) {
      const i = this.runs.findIndex((r) => r.runDir === d.runDir);
      if (i === -1) continue;
      if (d.reset) {
        this.runs[i] = new RunModel(d.reset);
        changes.set(this.runs[i], { steps: true, epochs: true, softLabels: true, meta: true, reset: true });
      } else {
        changes.set(this.runs[i], this.runs[i].apply(d));
      }
    }
    if (changes.size) this.emit({ kind: 'delta', changes });
  }

  addRun(data: RunData): void {
    if (this.runs.some((r) => r.runDir === data.runDir)) return;
    this.runs.push(new RunModel(data));
    this.view = 'compare';
    this.emit({ kind: 'runs' });
  }

  removeRun(runDir: string): void {
    const before = this.runs.length;
    this.runs = this.runs.filter((r, i) => i === 0 || r.runDir !== runDir);
    if (this.runs.length !== before) this.emit({ kind: 'runs' });
  }

  get primary(): RunModel | undefined {
    return this.runs[0];
  }
}
