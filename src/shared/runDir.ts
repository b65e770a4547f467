/**
 * The run directory is the contract between the engine, the extension, the dashboard and other tools:
 *
 *   <runsDir>/<runId>/config.json       resolved config (defaults filled in, absolute paths)
 *                     status.json       running | completed | failed | stopped (+ reason); "interrupted" is read
 *                                       off a `running` status whose engine process is gone
 *                     metrics.jsonl     append-only step and epoch records; a torn last line is skipped
 *                     softlabels.jsonl  probe-set logits: the teacher once, each student each epoch
 *                     probe.json        which validation rows the probe set is, with thumbnails
 *                     summary.json      written atomically at the end of a completed run
 *                     student/          deployable student (T = 1), tfjs model.json + weights
 *                     baseline/         the scratch student, when compare.baseline is on
 *                     checkpoints/      what resume needs
 *
 * Node only (fs); no vscode, no tfjs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DistillConfig } from './config';
import type { InputSpec, MetricsRecord, ProbeInfo, RunStatus, SoftLabelRecord, StatusFile, Summary } from './records';

export const RUN_FILES = {
  config: 'config.json',
  status: 'status.json',
  metrics: 'metrics.jsonl',
  softLabels: 'softlabels.jsonl',
  probe: 'probe.json',
  input: 'input.json',
  summary: 'summary.json',
  student: 'student',
  baseline: 'baseline',
  checkpoints: 'checkpoints',
} as const;

/** Write a file so that readers see the old content or the new, never half of it. */
export function writeFileAtomic(file: string, content: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

export const writeJsonAtomic = (file: string, value: unknown) => writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Parse JSON lines, skipping a torn (unterminated or unparsable) last line from a writer that died mid-write. */
export function parseJsonLines<T>(text: string): T[] {
  const out: T[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch (e) {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim())) throw new Error(`line ${i + 1} is not valid JSON: ${(e as Error).message}`);
    }
  }
  return out;
}

export function readJsonLines<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  try {
    return parseJsonLines<T>(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** `fashion-mnist-20261129-224901-a1b2` — sortable by time, unique across quick successive runs. */
export function newRunId(name: string, now = new Date()): string {
  const slug =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'run';
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${slug}-${stamp}-${Math.random().toString(16).slice(2, 6)}`;
}

export const isProcessAlive = (pid: number | undefined): boolean => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Appends records to a run's JSON-lines files. Each record is one `appendFileSync`, so a crash tears at most one line. */
export class RunWriter {
  constructor(readonly dir: string) {}

  static create(dir: string, config: DistillConfig, status: StatusFile): RunWriter {
    fs.mkdirSync(dir, { recursive: true });
    const w = new RunWriter(dir);
    w.writeConfig(config);
    w.writeStatus(status);
    return w;
  }

  /** The run's resolved config: written at the start, and again once the backend's defaults are filled in. */
  writeConfig(config: DistillConfig): void {
    writeJsonAtomic(this.file('config'), config);
  }

  file(name: keyof typeof RUN_FILES): string {
    return path.join(this.dir, RUN_FILES[name]);
  }

  appendMetrics(records: readonly MetricsRecord[]): void {
    if (records.length) fs.appendFileSync(this.file('metrics'), records.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  appendSoftLabels(record: SoftLabelRecord): void {
    fs.appendFileSync(this.file('softLabels'), JSON.stringify(record) + '\n');
  }

  /**
   * The teacher's records, as the whole of softlabels.jsonl: written once, before any student's, so a run that
   * restarts before its students began writes them again rather than twice.
   */
  writeTeacherSoftLabels(records: readonly SoftLabelRecord[]): void {
    writeFileAtomic(this.file('softLabels'), records.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  writeProbe(probe: ProbeInfo): void {
    writeJsonAtomic(this.file('probe'), probe);
  }

  writeInputSpec(spec: InputSpec): void {
    writeJsonAtomic(this.file('input'), spec);
  }

  writeStatus(status: StatusFile): void {
    writeJsonAtomic(this.file('status'), status);
  }

  writeSummary(summary: Summary): void {
    writeJsonAtomic(this.file('summary'), summary);
  }

  /**
   * Drop records past an epoch boundary, for resume: the checkpoint is at the end of `epoch` (of `student`), so
   * later step records are replayed. Rewritten atomically; nothing up to the checkpoint is lost.
   */
  truncateAfterCheckpoint(keep: (r: MetricsRecord) => boolean): void {
    const records = readJsonLines<MetricsRecord>(this.file('metrics'));
    writeFileAtomic(
      this.file('metrics'),
      records
        .filter(keep)
        .map((r) => JSON.stringify(r) + '\n')
        .join(''),
    );
  }

  truncateSoftLabels(keep: (r: SoftLabelRecord) => boolean): void {
    const records = readJsonLines<SoftLabelRecord>(this.file('softLabels'));
    writeFileAtomic(
      this.file('softLabels'),
      records
        .filter(keep)
        .map((r) => JSON.stringify(r) + '\n')
        .join(''),
    );
  }
}

/** Everything a reader (extension, dashboard, tests, other tools) gets from a run directory. */
export interface RunSnapshot {
  runId: string;
  dir: string;
  status: RunStatus;
  statusFile?: StatusFile;
  config?: DistillConfig;
  summary?: Summary;
}

/** Read a run's status; a `running` run whose engine process is gone reads as `interrupted`. */
export function readRun(dir: string): RunSnapshot | undefined {
  const statusFile = readJson<StatusFile>(path.join(dir, RUN_FILES.status));
  if (!statusFile) return undefined;
  const status: RunStatus = statusFile.status === 'running' && !isProcessAlive(statusFile.pid) ? 'interrupted' : statusFile.status;
  return {
    runId: statusFile.runId ?? path.basename(dir),
    dir,
    status,
    statusFile,
    config: readJson<DistillConfig>(path.join(dir, RUN_FILES.config)),
    summary: readJson<Summary>(path.join(dir, RUN_FILES.summary)),
  };
}

/** All runs under `runsDir`, newest first. */
export function listRuns(runsDir: string): RunSnapshot[] {
  if (!fs.existsSync(runsDir)) return [];
  return fs
    .readdirSync(runsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => readRun(path.join(runsDir, d.name)))
    .filter((r): r is RunSnapshot => !!r)
    .sort((a, b) => (b.statusFile?.startedAt ?? '').localeCompare(a.statusFile?.startedAt ?? ''));
}
