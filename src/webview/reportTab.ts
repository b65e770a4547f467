/**
 * The report card: teacher vs scratch vs KD student on the test set — accuracy, macro-F1, how much of the teacher's
 * accuracy is kept, calibration (ECE), closeness to the teacher, size and latency.
 */
import { compressionLabel } from '../shared/compression';
import { isCompressionSkipped, type ModelReport, type Summary } from '../shared/records';
import type { ViewContext } from './context';
import { formatBytes, modelName } from '../shared/format';
import { append, formatNumber, formatPercent, h } from './dom';
import { SummaryTab } from './summaryTab';

interface Row {
  label: string;
  title: string;
  value(m: ModelReport): string;
  /** For highlighting the better student: a number where larger (or smaller) is better. */
  score?(m: ModelReport): number | undefined;
  lowerIsBetter?: boolean;
}

const ROWS: Row[] = [
  { label: 'Test accuracy', title: 'Top-1 accuracy on the test split', value: (m) => formatPercent(m.accuracy, 2), score: (m) => m.accuracy },
  { label: 'Macro-F1', title: 'Mean of the per-class F1 scores', value: (m) => formatPercent(m.macroF1, 2), score: (m) => m.macroF1 },
  { label: 'Teacher accuracy kept', title: 'Accuracy as a share of the teacher’s', value: (m) => (m.teacherAccuracyKeptPct === undefined ? '—' : `${m.teacherAccuracyKeptPct.toFixed(1)}%`), score: (m) => m.teacherAccuracyKeptPct },
  { label: 'ECE', title: 'Expected calibration error (15 bins); lower is better calibrated', value: (m) => formatNumber(m.ece, 3), score: (m) => m.ece, lowerIsBetter: true },
  { label: 'KL to teacher', title: 'Mean KL(teacher ‖ model) at T = 1 on the test split', value: (m) => formatNumber(m.klToTeacher, 3), score: (m) => m.klToTeacher, lowerIsBetter: true },
  { label: 'Agreement', title: 'Share of test samples where the top-1 class matches the teacher’s', value: (m) => formatPercent(m.agreement, 2), score: (m) => m.agreement },
  { label: 'Parameters', title: 'Trainable and non-trainable parameters', value: (m) => (m.params === null ? '— (logits only)' : m.params.toLocaleString('en-US')) },
  { label: 'Size', title: 'Size of the saved weights', value: (m) => formatBytes(m.sizeBytes) },
  { label: 'Size, gzip', title: 'model.json and weight shards, each gzipped', value: (m) => formatBytes(m.gzipBytes) },
  { label: 'Latency, batch 1', title: 'Milliseconds per sample, batch of 1', value: (m) => (m.latencyMs ? `${formatNumber(m.latencyMs.batch1)} ms` : '—'), score: (m) => m.latencyMs?.batch1, lowerIsBetter: true },
  { label: 'Latency, batch 256', title: 'Milliseconds per sample, batch of 256', value: (m) => (m.latencyMs ? `${formatNumber(m.latencyMs.batch256)} ms` : '—'), score: (m) => m.latencyMs?.batch256, lowerIsBetter: true },
];

export function reportTable(summary: Summary): HTMLTableElement {
  const models: { name: string; title?: string; report: ModelReport; student: boolean }[] = [{ name: summary.teachers ? 'Teacher ensemble' : modelName('teacher', { capital: true }), report: summary.teacher, student: false }];
  // Each teacher of a list, beside the ensemble: its KL and agreement are to the ensemble.
  summary.teachers?.forEach((t, i) => models.push({ name: `Teacher ${i + 1} (w ${t.weight.toFixed(2)})`, title: `${t.name}. KL to teacher and agreement: to the ensemble.`, report: t, student: false }));
  if (summary.baseline) models.push({ name: modelName('baseline', { capital: true }), report: summary.baseline, student: true });
  models.push({ name: modelName('kd', { capital: true }), report: summary.student, student: true });
  for (const c of summary.compression ?? []) if (!isCompressionSkipped(c)) models.push({ name: compressionLabel(c), report: c, student: true });
  const body = ROWS.map((row) => {
    const scores = models.map((m) => (m.student ? row.score?.(m.report) : undefined));
    const valid = scores.filter((s): s is number => s !== undefined && Number.isFinite(s));
    const best = valid.length > 1 ? (row.lowerIsBetter ? Math.min(...valid) : Math.max(...valid)) : undefined;
    return h(
      'tr',
      {},
      h('th', { scope: 'row', title: row.title }, row.label),
      ...models.map((m, i) => h(best !== undefined && scores[i] === best ? 'td.best' : 'td', {}, row.value(m.report))),
    );
  });
  return h('table.report', {}, h('thead', {}, h('tr', {}, h('th'), ...models.map((m) => h('th', { scope: 'col', ...(m.title ? { title: m.title } : {}) }, m.name)))), h('tbody', {}, ...body));
}

export class ReportTab extends SummaryTab {
  constructor(ctx: ViewContext, width: number) {
    super(ctx, width, 'section.tab-report', 'The report card appears when the run completes and writes summary.json.');
    this.render();
  }

  protected draw(summary: Summary): void {
    const b = summary.backend;
    append(
      this.element,
      h('h2', {}, 'Report card'),
      reportTable(summary),
      h('p.hint', {}, `Best student value in bold. ${summary.testSamples.toLocaleString('en-US')} test samples · ${formatNumber(summary.seconds, 4)} s in all.`),
      h('h3', {}, 'Backend'),
      h('p', {}, h('strong', {}, b.name), ` — ${b.reason}`),
      b.skipped.length ? h('ul.skipped', {}, ...b.skipped.map((s) => h('li', {}, h('code', {}, s.name), `: ${s.reason}`))) : null,
    );
  }

  /** A table reflows by itself. */
  override resize(): void {}
}
