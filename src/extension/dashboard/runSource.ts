/**
 * A run directory as the dashboard sees it: a snapshot of everything in it, then deltas of what changed, by tailing
 * `metrics.jsonl` and `softlabels.jsonl` from byte offsets and re-reading the small JSON files when they change.
 * No vscode: the panel host wires this to file watchers, and the tests drive it directly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DistillConfig } from '../../shared/config';
import type { EpochRecord, MetricsRecord, ProbeInfo, SoftLabelRecord, StepRecord, TrainedRole, Summary } from '../../shared/records';
import { listRuns, readJson, readRun, RUN_FILES } from '../../shared/runDir';
import { STEP_METRICS, type RunData, type RunDelta, type RunListing, type StepColumns } from '../../shared/webviewProtocol';
import { runDisplayName } from '../../shared/runName';
import { JsonlTail } from './jsonlTail';

/** Turns step records into per-student columns, numbering each student's steps across epochs. */
export class StepColumnsBuilder {
  private readonly stepsSoFar = new Map<TrainedRole, number>();

  /** Columns for `records` (in file order), one entry per student, continuing the numbering of earlier calls. */
  build(records: readonly StepRecord[]): StepColumns[] {
    const byStudent = new Map<TrainedRole, StepRecord[]>();
    for (const r of records) {
      let list = byStudent.get(r.student);
      if (!list) byStudent.set(r.student, (list = []));
      list.push(r);
    }
    const out: StepColumns[] = [];
    for (const [student, list] of byStudent) {
      const first = this.stepsSoFar.get(student) ?? 0;
      const columns = emptyStepColumns(student, list.length);
      list.forEach((r, i) => {
        columns.globalStep[i] = first + i + 1;
        columns.epoch[i] = r.epoch;
        for (const m of STEP_METRICS) columns[m][i] = r[m] ?? NaN;
      });
      this.stepsSoFar.set(student, first + list.length);
      out.push(columns);
    }
    return out;
  }
}

export function emptyStepColumns(student: TrainedRole, length = 0): StepColumns {
  const columns = { student, globalStep: new Float64Array(length), epoch: new Float32Array(length) } as StepColumns;
  for (const m of STEP_METRICS) columns[m] = new Float32Array(length);
  return columns;
}

function concatTyped<A extends Float32Array | Float64Array>(a: A, b: A): A {
  const out = new (a.constructor as { new (n: number): A })(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** `a` then `b`, per student; students only in `b` are added at the end. */
export function appendStepColumns(a: readonly StepColumns[], b: readonly StepColumns[]): StepColumns[] {
  const out = [...a];
  for (const more of b) {
    const i = out.findIndex((c) => c.student === more.student);
    if (i === -1) {
      out.push(more);
      continue;
    }
    const base = out[i];
    const joined = {
      student: base.student,
      globalStep: concatTyped(base.globalStep, more.globalStep),
      epoch: concatTyped(base.epoch, more.epoch),
    } as StepColumns;
    for (const m of STEP_METRICS) joined[m] = concatTyped(base[m], more[m]);
    out[i] = joined;
  }
  return out;
}

/** Applies a delta to a run's data, as the webview would: records appended, the rest replaced. */
export function applyDelta(run: RunData, delta: RunDelta): RunData {
  if (delta.reset) return delta.reset;
  return {
    ...run,
    steps: delta.steps ? appendStepColumns(run.steps, delta.steps) : run.steps,
    epochs: delta.epochs ? [...run.epochs, ...delta.epochs] : run.epochs,
    softLabels: delta.softLabels ? [...run.softLabels, ...delta.softLabels] : run.softLabels,
    status: delta.status ?? run.status,
    statusFile: delta.statusFile ?? run.statusFile,
    config: delta.config ?? run.config,
    probe: delta.probe ?? run.probe,
    summary: delta.summary ?? run.summary,
  };
}

/** One delta that has the effect of `a` followed by `b` (same run). */
export function mergeDeltas(a: RunDelta, b: RunDelta): RunDelta {
  if (b.reset) return b;
  if (a.reset) return { runDir: a.runDir, reset: applyDelta(a.reset, b) };
  const merged: RunDelta = { ...a, ...definedFields(b) };
  if (a.steps || b.steps) merged.steps = appendStepColumns(a.steps ?? [], b.steps ?? []);
  if (a.epochs || b.epochs) merged.epochs = [...(a.epochs ?? []), ...(b.epochs ?? [])];
  if (a.softLabels || b.softLabels) merged.softLabels = [...(a.softLabels ?? []), ...(b.softLabels ?? [])];
  return merged;
}

const definedFields = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Size and modification time: enough to notice that a small, atomically rewritten JSON file changed. */
function fileStamp(file: string): string | undefined {
  try {
    const s = fs.statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
}

type SmallFile = 'status' | 'config' | 'probe' | 'summary';
const SMALL_FILES: readonly SmallFile[] = ['status', 'config', 'probe', 'summary'];

/**
 * One run directory, read incrementally. `snapshot()` starts over from disk; `poll()` returns what changed since
 * the last `snapshot()` or `poll()`, or nothing.
 */
export class RunSource {
  private metrics!: JsonlTail<MetricsRecord>;
  private softLabels!: JsonlTail<SoftLabelRecord>;
  private steps!: StepColumnsBuilder;
  private stamps = new Map<SmallFile, string | undefined>();
  /** Unparsable complete lines since the last snapshot. */
  private skippedLines = 0;

  constructor(readonly runDir: string) {
    this.restart();
  }

  /** Everything in the run directory now; later polls continue from here. */
  snapshot(): RunData {
    this.restart();
    // Without a status.json (deleted, or never a run) nothing is running there; the webview says so.
    const run: RunData = {
      runId: path.basename(this.runDir),
      runDir: this.runDir,
      status: 'interrupted',
      steps: [],
      epochs: [],
      softLabels: [],
      skippedLines: 0,
    };
    const data = applyDelta(run, this.readChanges());
    return { ...data, runId: data.statusFile?.runId ?? data.runId, skippedLines: this.skippedLines };
  }

  /** What changed on disk since the last snapshot or poll; undefined when nothing did. */
  poll(): RunDelta | undefined {
    const delta = this.readChanges();
    const changed = Object.entries(delta).some(([k, v]) => k !== 'runDir' && v !== undefined);
    return changed ? delta : undefined;
  }

  private restart(): void {
    this.metrics = new JsonlTail(path.join(this.runDir, RUN_FILES.metrics));
    this.softLabels = new JsonlTail(path.join(this.runDir, RUN_FILES.softLabels));
    this.steps = new StepColumnsBuilder();
    this.stamps.clear();
    this.skippedLines = 0;
  }

  private readChanges(): RunDelta {
    const delta: RunDelta = { runDir: this.runDir };
    for (const name of SMALL_FILES) {
      const file = path.join(this.runDir, RUN_FILES[name]);
      const stamp = fileStamp(file);
      if (stamp === this.stamps.get(name)) continue;
      this.stamps.set(name, stamp);
      if (stamp === undefined) continue;
      this.readSmallFile(name, delta);
    }

    const metrics = this.metrics.read();
    const softLabels = this.softLabels.read();
    if (metrics.reset || softLabels.reset) {
      // Resume rewrote the record files: start over so that nothing dropped by the engine stays on screen.
      return { runDir: this.runDir, reset: this.snapshot() };
    }
    const steps = metrics.records.filter((r): r is StepRecord => r.kind === 'step');
    const epochs = metrics.records.filter((r): r is EpochRecord => r.kind === 'epoch');
    if (steps.length) delta.steps = this.steps.build(steps);
    if (epochs.length) delta.epochs = epochs;
    if (softLabels.records.length) delta.softLabels = softLabels.records;
    this.skippedLines += metrics.skipped + softLabels.skipped;
    return delta;
  }

  private readSmallFile(name: SmallFile, delta: RunDelta): void {
    const file = path.join(this.runDir, RUN_FILES[name]);
    switch (name) {
      case 'status': {
        // readRun turns a `running` status whose engine is gone into `interrupted`.
        const run = readRun(this.runDir);
        if (run) {
          delta.status = run.status;
          delta.statusFile = run.statusFile;
        }
        return;
      }
      case 'config':
        delta.config = readJson<DistillConfig>(file);
        return;
      case 'probe':
        delta.probe = readJson<ProbeInfo>(file);
        return;
      case 'summary':
        delta.summary = readJson<Summary>(file);
        return;
    }
  }

  /** The run's data now, for a reply; equal to a snapshot but without disturbing this source's offsets. */
  static read(runDir: string): RunData {
    return new RunSource(runDir).snapshot();
  }
}

/** Runs beside `runDir` (in the same runs folder), newest first, for the "add to comparison" list. */
export function listSiblingRuns(runDir: string): RunListing[] {
  return listRuns(path.dirname(runDir)).map((r) => ({
    runDir: r.dir,
    runId: r.runId,
    status: r.status,
    name: r.config ? runDisplayName({ runId: r.runId, config: r.config }) : undefined,
    startedAt: r.statusFile?.startedAt,
  }));
}

/** True when `candidate` is one of the listed runs: the webview never names an arbitrary folder to read. */
export function isListedRun(candidate: string, listing: readonly RunListing[]): boolean {
  const wanted = path.resolve(candidate);
  return listing.some((r) => path.resolve(r.runDir) === wanted);
}
