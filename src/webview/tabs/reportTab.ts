/**
 * The report card: teacher vs scratch vs KD student on the test set — accuracy, macro-F1, how much of the teacher's
 * accuracy is kept, calibration (ECE), closeness to the teacher, size and latency.
 */
import { compressionLabel } from '../../shared/compression';
import { isCompressionSkipped, type ModelReport, type Summary } from '../../shared/records';
import { accuracyDiffers, clearlyBest, latencyDiffers, reportVerdict, type VerdictTone } from '../../shared/reportVerdict';
import type { ViewContext } from '../context';
import { formatBytes, modelName } from '../../shared/format';
import { append, formatNumber, formatPercent, h } from '../dom';
import { SummaryTab } from './summaryTab';

interface Row {
  label: string;
  title: string;
  value(m: ModelReport): string | HTMLElement;
  /** For marking the best student: a number where larger (or smaller) is better. */
  score?: (m: ModelReport) => number | undefined;
  lowerIsBetter?: boolean;
  /**
   * Whether two models' values differ beyond noise (n: test samples). Only a row that can tell noise marks a best
   * student, and only when the best differs so from every other student.
   */
  differs?: (a: ModelReport, b: ModelReport, n: number) => boolean;
}

const SAMPLING = '; bold only beyond the 95% sampling interval of the test split';

/** A latency cell: the median, and the range over the rounds it was measured in. */
function latencyCell(m: ModelReport, batch: 'batch1' | 'batch256'): string | HTMLElement {
  if (!m.latencyMs) return '—';
  const s = m.latencyMs.spread?.[batch];
  const median = `${formatNumber(m.latencyMs[batch])} ms`;
  if (!s) return median;
  return h(
    'span',
    { title: `median of ${s.rounds} rounds; quartiles ${formatNumber(s.q1)}–${formatNumber(s.q3)} ms, range ${formatNumber(s.min)}–${formatNumber(s.max)} ms` },
    median,
    h('span.spread', {}, ` ${formatNumber(s.min)}–${formatNumber(s.max)}`),
  );
}

const ROWS: Row[] = [
  {
    label: 'Test accuracy',
    title: `Top-1 accuracy on the test split${SAMPLING}`,
    value: (m) => formatPercent(m.accuracy, 2),
    score: (m) => m.accuracy,
    differs: (a, b, n) => accuracyDiffers(a.accuracy, b.accuracy, n),
  },
  {
    label: 'Macro-F1',
    title: `Mean of the per-class F1 scores${SAMPLING} (as for an accuracy)`,
    value: (m) => formatPercent(m.macroF1, 2),
    score: (m) => m.macroF1,
    differs: (a, b, n) => accuracyDiffers(a.macroF1, b.macroF1, n),
  },
  {
    label: 'Teacher accuracy kept',
    title: 'Accuracy as a share of the teacher’s',
    value: (m) => (m.teacherAccuracyKeptPct === undefined ? '—' : `${m.teacherAccuracyKeptPct.toFixed(1)}%`),
    score: (m) => m.teacherAccuracyKeptPct,
    differs: (a, b, n) => accuracyDiffers(a.accuracy, b.accuracy, n),
  },
  { label: 'ECE', title: 'Expected calibration error (15 bins); lower is better calibrated', value: (m) => formatNumber(m.ece, 3) },
  { label: 'KL to teacher', title: 'Mean KL(teacher ‖ model) at T = 1 on the test split', value: (m) => formatNumber(m.klToTeacher, 3) },
  {
    label: 'Agreement',
    title: `Share of test samples where the top-1 class matches the teacher’s${SAMPLING}`,
    value: (m) => formatPercent(m.agreement, 2),
    score: (m) => m.agreement,
    differs: (a, b, n) => a.agreement !== undefined && b.agreement !== undefined && accuracyDiffers(a.agreement, b.agreement, n),
  },
  {
    label: 'Parameters',
    title: 'Trainable and non-trainable parameters',
    value: (m) => (m.params === null ? '— (logits only)' : m.params.toLocaleString('en-US')),
  },
  { label: 'Size', title: 'Bytes of the weights (as held in memory, float32)', value: (m) => formatBytes(m.sizeBytes) },
  { label: 'Size on disk', title: 'The model’s files: model.json and weight shards, or the ONNX file', value: (m) => formatBytes(m.diskBytes) },
  { label: 'Size, gzip', title: 'The same files, each gzipped', value: (m) => formatBytes(m.gzipBytes) },
  {
    label: 'Latency, batch 1',
    title: 'Milliseconds per sample at batch 1: median, and min–max over the rounds; bold only where the ranges do not overlap',
    value: (m) => latencyCell(m, 'batch1'),
    score: (m) => m.latencyMs?.batch1,
    lowerIsBetter: true,
    differs: (a, b) => latencyDiffers(a.latencyMs?.spread?.batch1, b.latencyMs?.spread?.batch1),
  },
  {
    label: 'Latency, batch 256',
    title: 'Milliseconds per sample at batch 256: median, and min–max over the rounds; bold only where the ranges do not overlap',
    value: (m) => latencyCell(m, 'batch256'),
    score: (m) => m.latencyMs?.batch256,
    lowerIsBetter: true,
    differs: (a, b) => latencyDiffers(a.latencyMs?.spread?.batch256, b.latencyMs?.spread?.batch256),
  },
];

export function reportTable(summary: Summary): HTMLTableElement {
  const models: { name: string; title?: string; report: ModelReport; student: boolean }[] = [
    { name: summary.teachers ? 'Teacher ensemble' : modelName('teacher', { capital: true }), report: summary.teacher, student: false },
  ];
  // Each teacher of a list, beside the ensemble: its KL and agreement are to the ensemble.
  summary.teachers?.forEach((t, i) =>
    models.push({
      name: `Teacher ${i + 1} (w ${t.weight.toFixed(2)})`,
      title: `${t.name}. KL to teacher and agreement: to the ensemble.`,
      report: t,
      student: false,
    }),
  );
  if (summary.baseline) models.push({ name: modelName('baseline', { capital: true }), report: summary.baseline, student: true });
  models.push({ name: modelName('kd', { capital: true }), report: summary.student, student: true });
  for (const c of summary.compression ?? []) if (!isCompressionSkipped(c)) models.push({ name: compressionLabel(c), report: c, student: true });
  const students = models.filter((m) => m.student);
  const body = ROWS.map((row) => {
    const score = row.score;
    const differs = row.differs;
    const bestAt =
      score && differs
        ? clearlyBest(
            students,
            (m) => score(m.report),
            (a, b) => differs(a.report, b.report, summary.testSamples),
            row.lowerIsBetter,
          )
        : undefined;
    const best = bestAt === undefined ? undefined : students[bestAt];
    return h(
      'tr',
      {},
      h('th', { scope: 'row', title: row.title }, row.label),
      ...models.map((m) => h(m === best ? 'td.best' : 'td', m === best ? { title: 'best student, beyond noise' } : {}, row.value(m.report))),
    );
  });
  return h(
    'table.report',
    {},
    h('thead', {}, h('tr', {}, h('th'), ...models.map((m) => h('th', { scope: 'col', ...(m.title ? { title: m.title } : {}) }, m.name)))),
    h('tbody', {}, ...body),
  );
}

/** The verdict: what the numbers mean, in a few lines above the table. */
export function verdictBlock(summary: Summary): HTMLElement {
  const icon: Record<VerdictTone, string> = { good: '✓', bad: '✗', warn: '⚠', neutral: '•' };
  return h(
    'div.verdict',
    { role: 'status' },
    ...reportVerdict(summary).map((l) => h(`p.verdict-${l.tone}`, {}, h('span.verdict-icon', { 'aria-hidden': 'true' }, icon[l.tone]), ' ', l.text)),
  );
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
      verdictBlock(summary),
      reportTable(summary),
      h(
        'p.hint',
        {},
        `Bold: the best student, only where it beats every other student beyond noise (accuracies: the 95% sampling interval of ${summary.testSamples.toLocaleString('en-US')} test samples; latency: median per sample, its min–max over the measured rounds not overlapping). ${formatNumber(summary.seconds, 4)} s in all.`,
      ),
      h('h3', {}, 'Backend'),
      h('p', {}, h('strong', {}, b.name), ` — ${b.reason}`),
      b.skipped.length ? h('ul.skipped', {}, ...b.skipped.map((s) => h('li', {}, h('code', {}, s.name), `: ${s.reason}`))) : null,
    );
  }

  /** A table reflows by itself. */
  override resize(): void {}
}
