/**
 * Words and figures for runs, as the Runs view, the progress notification and the status bar show them. Pure (no
 * vscode), so the unit tests check the exact text.
 */
import type { Progress } from '../shared/protocol';
import type { ModelReport, Summary } from '../shared/records';
import type { RunSnapshot } from '../shared/runDir';
import { formatCount, modelName } from '../shared/format';
import { runDisplayName } from '../shared/runName';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * `KD student (2 of 3) · epoch 3/10 · step 120/469 · loss 0.532 · run 47% · ETA 2m 10s`: the model in training, and the
 * whole run (teacher, KD student, scratch student) in one percentage and one ETA when the engine reports them.
 */
export function progressText(p: Progress): string {
  const parts = [
    p.run && p.run.phases > 1 ? `${modelName(p.student)} (${p.run.phase} of ${p.run.phases})` : modelName(p.student),
    `epoch ${p.epoch}/${p.totalEpochs}`,
  ];
  if (p.stepsPerEpoch > 0) parts.push(`step ${p.step}/${p.stepsPerEpoch}`);
  if (p.loss !== undefined && Number.isFinite(p.loss)) parts.push(`loss ${p.loss.toFixed(3)}`);
  if (p.run) parts.push(`run ${progressPercent(p).toFixed(0)}%`);
  const eta = p.run ? p.run.etaSeconds : p.etaSeconds;
  if (eta !== undefined && Number.isFinite(eta)) parts.push(`ETA ${formatDuration(eta)}`);
  return parts.join(' · ');
}

/** Share of the run done, 0–100: the whole run when the engine reports it, else the current model's training. */
export function progressPercent(p: Progress): number {
  if (p.run) return Math.max(0, Math.min(100, p.run.fraction * 100));
  if (p.totalEpochs <= 0) return 0;
  const within = p.stepsPerEpoch > 0 ? Math.min(1, p.step / p.stepsPerEpoch) : 0;
  return Math.max(0, Math.min(100, ((p.epoch - 1 + within) / p.totalEpochs) * 100));
}

/** `fashion-kd · Nov 29 22:49` */
export function runLabel(run: RunSnapshot): string {
  const name = runDisplayName(run);
  const started = run.statusFile?.startedAt ? new Date(run.statusFile.startedAt) : undefined;
  if (!started || Number.isNaN(started.getTime())) return name;
  // hourCycle, not hour12: false, which en-US resolves to h24 and writes a run started at 00:12 as 24:12.
  const when = started.toLocaleString('en-US', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return `${name} · ${when}`;
}

/** " at KD student epoch 2/3"; a stopped run's status names the epoch the stop caught it in: " in …". */
function epochAt(run: RunSnapshot, word = 'at'): string {
  const s = run.statusFile;
  if (!s?.epoch) return '';
  return ` ${word} ${s.student ? `${modelName(s.student)} ` : ''}epoch ${s.epoch}${s.totalEpochs ? `/${s.totalEpochs}` : ''}`;
}

/** The key figures beside a run in the tree. `live` is the engine's latest progress for the run being trained now. */
export function runDescription(run: RunSnapshot, live?: Progress): string {
  switch (run.status) {
    case 'running':
      return live ? `${progressText(live)}` : `running${epochAt(run)}`;
    case 'completed': {
      const s = run.summary;
      if (!s) return 'completed';
      const parts = [`${modelName('kd', { short: true })} ${pct(s.student.accuracy)}`, `${modelName('teacher')} ${pct(s.teacher.accuracy)}`];
      if (s.baseline) parts.push(`${modelName('baseline', { short: true })} ${pct(s.baseline.accuracy)}`);
      const t = run.config?.distillation;
      if (t) parts.push(`T=${t.temperature} α=${t.alpha}`);
      return parts.join(' · ');
    }
    case 'failed':
      return `failed${epochAt(run)}${run.statusFile?.reason ? `: ${firstLine(run.statusFile.reason)}` : ''}`;
    case 'stopped':
      return `stopped${epochAt(run, 'in')}`;
    case 'interrupted':
      return `interrupted${epochAt(run)}`;
  }
}

const firstLine = (text: string) => {
  const line = text.split('\n')[0];
  return line.length > 80 ? `${line.slice(0, 77)}…` : line;
};

export interface ResultRow {
  kind: 'teacher' | 'kd' | 'baseline';
  label: string;
  description: string;
  report: ModelReport;
}

/** The children of a completed run: teacher, KD student, and the scratch baseline when there is one. */
export function resultRows(summary: Summary): ResultRow[] {
  const figures = (r: ModelReport) => [pct(r.accuracy), r.params === null ? 'logits' : `${formatCount(r.params)} params`];
  const rows: ResultRow[] = [
    { kind: 'teacher', label: modelName('teacher', { capital: true }), description: figures(summary.teacher).join(' · '), report: summary.teacher },
  ];
  const kd = figures(summary.student);
  if (summary.student.teacherAccuracyKeptPct !== undefined) kd.push(`${summary.student.teacherAccuracyKeptPct.toFixed(1)}% of teacher`);
  if (summary.student.agreement !== undefined) kd.push(`agrees ${pct(summary.student.agreement)}`);
  rows.push({ kind: 'kd', label: modelName('kd', { capital: true }), description: kd.join(' · '), report: summary.student });
  if (summary.baseline) {
    const gain = (summary.student.accuracy - summary.baseline.accuracy) * 100;
    const base = figures(summary.baseline);
    base.push(`KD ${gain >= 0 ? '+' : '−'}${Math.abs(gain).toFixed(1)} pts`);
    rows.push({ kind: 'baseline', label: modelName('baseline', { capital: true }), description: base.join(' · '), report: summary.baseline });
  }
  return rows;
}

/** One sentence for the "run completed" message. */
export function completionText(summary: Summary): string {
  const parts = [`${modelName('kd')} ${pct(summary.student.accuracy)}`, `${modelName('teacher')} ${pct(summary.teacher.accuracy)}`];
  if (summary.baseline) parts.push(`${modelName('baseline', { short: true })} ${pct(summary.baseline.accuracy)}`);
  return `${parts.join(', ')} on ${summary.testSamples.toLocaleString('en-US')} test samples, in ${formatDuration(summary.seconds)}.`;
}
