/**
 * Test-set confusion matrices of the teacher, the scratch student and the KD student, the KD-minus-scratch
 * difference (where distillation moved predictions), and per-class F1 of all three. From summary.json, so they
 * appear when a run completes.
 */
import { modelName } from '../../shared/format';
import type { ModelReport, Summary } from '../../shared/records';
import { drawGroupedBars, drawMatrix } from '../charts/canvasCharts';
import { differenceColor, fractionColor } from '../charts/colorScale';
import type { ViewContext } from '../context';
import { h } from '../dom';
import { SummaryTab } from './summaryTab';

const rowTotals = (m: number[][]) => m.map((row) => row.reduce((a, b) => a + b, 0));

export class ConfusionTab extends SummaryTab {
  constructor(ctx: ViewContext, width: number) {
    super(ctx, width, 'section.tab-confusion', 'Confusion matrices and per-class F1 appear when the run completes and writes summary.json.');
    this.render();
  }

  protected draw(summary: Summary): void {
    const theme = this.ctx.theme();
    const names = summary.classNames;
    const classes = names.length;
    const perRow = this.width >= 900 ? 2 : 1;
    const gutter = 84;
    const cell = Math.max(14, Math.min(40, Math.floor((this.width / perRow - gutter - 24) / classes)));
    const header = 72;
    const layout = { rows: classes, cols: classes, cell, header, gutter, colLabels: names, rowLabels: names };

    const matrix = (id: string, title: string, report: ModelReport) => {
      const totals = rowTotals(report.confusion);
      const canvas = h('canvas', { id: `confusion-${id}`, role: 'img', 'aria-label': `${title} confusion matrix, rows true class, columns predicted` });
      drawMatrix(canvas, theme, {
        ...layout,
        color: (r, c) => fractionColor(theme.heat, totals[r] ? report.confusion[r][c] / totals[r] : 0),
        text: (r, c) => (report.confusion[r][c] ? String(report.confusion[r][c]) : ''),
      });
      return h('figure.matrix', {}, h('figcaption', {}, `${title} · accuracy ${(report.accuracy * 100).toFixed(2)}%`), canvas);
    };

    const grid = h('div.matrix-grid');
    grid.append(matrix('teacher', modelName('teacher', { capital: true }), summary.teacher));
    if (summary.baseline) grid.append(matrix('scratch', modelName('baseline', { capital: true }), summary.baseline));
    grid.append(matrix('kd', modelName('kd', { capital: true }), summary.student));
    if (summary.baseline) {
      const kd = summary.student.confusion;
      const scratch = summary.baseline.confusion;
      const totals = rowTotals(scratch);
      const canvas = h('canvas#confusion-diff', { role: 'img', 'aria-label': 'KD minus scratch confusion counts' });
      drawMatrix(canvas, theme, {
        ...layout,
        color: (r, c) => differenceColor(theme.heat, totals[r] ? (kd[r][c] - scratch[r][c]) / totals[r] : 0),
        text: (r, c) => {
          const d = kd[r][c] - scratch[r][c];
          return d ? (d > 0 ? `+${d}` : String(d)) : '';
        },
      });
      grid.append(h('figure.matrix', {}, h('figcaption', {}, 'KD − scratch (counts): more on the diagonal is better'), canvas));
    }
    this.element.append(
      h('h2', {}, `Confusion matrices on ${summary.testSamples.toLocaleString('en-US')} test samples`),
      h('p.hint', {}, 'Rows: true class · columns: predicted class · colour: share of the row.'),
      grid,
    );
    if (!summary.baseline)
      this.element.append(
        h('p.hint', {}, 'Turn on compare.baseline in the config to train a scratch student beside the KD student and see what distillation changed.'),
      );

    const f1 = h('canvas#f1-bars', { role: 'img', 'aria-label': 'Per-class F1 of teacher, scratch and KD student' });
    const groups = [{ label: 'teacher', color: theme.palette[2], values: summary.teacher.perClass.f1 }];
    if (summary.baseline) groups.push({ label: 'scratch', color: theme.palette[1], values: summary.baseline.perClass.f1 });
    groups.push({ label: 'KD', color: theme.palette[0], values: summary.student.perClass.f1 });
    drawGroupedBars(f1, theme, {
      width: Math.min(this.width - 8, 140 + classes * 80),
      height: 240,
      categories: names,
      groups,
      yMax: 1,
      percent: true,
      title: 'Per-class F1 (test)',
    });
    this.element.append(f1);
  }
}
