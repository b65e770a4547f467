/**
 * Words and figures for runs, as the Runs view, the progress notification and the status bar show them. Pure (no
 * vscode), so the unit tests check the exact text.
 */
import type { Progress } from '../shared/protocol';
import type { ModelReport, Summary } from '../shared/records';
import type { RunSnapshot } from '../shared/runDir';
import { formatCount, modelName } from '../shared/format';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `KD student · epoch 3/10 · step 120/469 · loss 0.532 · ETA 2m 10s` */
export function progressText(p: Progress): string {
  const parts = [modelName(p.student), `epoch ${p.epoch}/${p.totalEpochs}`];
  if (p.stepsPerEpoch > 0) parts.push(`step ${p.step}/${p.stepsPerEpoch}`);
  if (p.loss !== undefined && Number.isFinite(p.loss)) parts.push(`loss ${p.loss.toFixed(3)}`);
  if (p.etaSeconds !== undefined && Number.isFinite(p.etaSeconds)) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  return parts.join(' · ');
}

/** Share of the current model's training done, 0–100. */
export function progressPercent(p: Progress): number {
  if (p.totalEpochs <= 0) return 0;
  const within = p.stepsPerEpoch > 0 ? Math.min(1, p.step / p.stepsPerEpoch) : 0;
  return Math.max(0, Math.min(100, ((p.epoch - 1 + within) / p.totalEpochs) * 100));
}

/** `fashion-kd · Nov 29 22:49` */
export function runLabel(run: RunSnapshot): string {
  const name = run.config?.name ?? run.runId.replace(/-\d{8}-\d{6}-[0-9a-f]{4}$/, '');
  const started = run.statusFile?.startedAt ? new Date(run.statusFile.startedAt) : undefined;
  if (!started || Number.isNaN(started.getTime())) return name;
  // hourCycle, not hour12: false, which en-US resolves to h24 and writes a run started at 00:12 as 24:12.
  const when = started.toLocaleString('en-US', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return `${name} · ${when}`;
}

function epochAt(run: RunSnapshot): string {
  const s = run.statusFile;
  if (!s?.epoch) return '';
  return ` at ${s.student ? `${modelName(s.student)} ` : ''}epoch ${s.epoch}${s.totalEpochs ? `/${s.totalEpochs}` : ''}`;
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
      return `stopped${epochAt(run)}`;
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
  const rows: ResultRow[] = [{ kind: 'teacher', label: modelName('teacher', { capital: true }), description: figures(summary.teacher).join(' · '), report: summary.teacher }];
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
