/**
 * Live curves of one run: per step (loss, its KD and CE parts, batch accuracy, the T/α schedule, lr) and per epoch
 * (train/validation accuracy, KL to the teacher, agreement, macro-F1, train loss), the KD student and the scratch
 * baseline overlaid. Smoothing, log scale, zoom and pan apply to all charts of a section at once.
 */
import type { TrainedRole } from '../../shared/records';
import type { StepMetric } from '../../shared/webviewProtocol';
import { PlotLine } from '../charts/columns';
import { studentColor, studentLabel, type TabView, type ViewContext } from '../context';
import { ChartGroup, CurveChart, type CurveChartSpec, type CurveLine } from '../charts/curves';
import { h } from '../dom';
import type { EpochMetric, RunModel, StoreEvent } from '../store';

/** Step metrics that are noisy per batch and worth smoothing; schedules (T, α, lr) are drawn as they are. */
const SMOOTHED: ReadonlySet<StepMetric> = new Set(['loss', 'kd', 'kdUnscaled', 'ce', 'accuracy', 'tckd', 'nckd', 'feature']);

interface StepChartDef {
  spec: CurveChartSpec;
  lines: {
    metric: StepMetric;
    label?: string;
    dash?: number[];
    scale?: 'y' | 'y2';
    students?: TrainedRole[];
    /** A colour of its own (an index into the theme's palette) instead of the student's. */
    palette?: number;
  }[];
}

interface EpochChartDef {
  spec: CurveChartSpec;
  lines: { metric: EpochMetric; label?: string; dash?: number[] }[];
  /** Models the chart is about; default all. A teacher's KL to itself (0) and agreement (1) say nothing. */
  models?: TrainedRole[];
}

/** The students: charts of the distillation itself have no teacher line. */
const STUDENTS: TrainedRole[] = ['kd', 'baseline'];

const STEP_CHARTS: StepChartDef[] = [
  { spec: { id: 'loss', title: 'Total loss', xLabel: 'step', yLabel: 'loss', logAllowed: true }, lines: [{ metric: 'loss' }] },
  {
    spec: { id: 'kd', title: 'Distillation term: with T² (solid) and without (dashed)', xLabel: 'step', yLabel: 'divergence', logAllowed: true },
    lines: [
      { metric: 'kd', label: 'kd', students: STUDENTS },
      { metric: 'kdUnscaled', label: 'kd/T²', dash: [5, 4], students: STUDENTS },
    ],
  },
  {
    // Decoupled KD only (the chart is left out when no step has these values).
    spec: { id: 'dkd', title: 'DKD parts before T² and weights: TCKD (solid) and NCKD (dashed)', xLabel: 'step', yLabel: 'KL', logAllowed: true },
    lines: [
      { metric: 'tckd', label: 'TCKD' },
      { metric: 'nckd', label: 'NCKD', dash: [5, 4] },
    ],
  },
  {
    // Feature (hint) distillation only (left out when no step has the value).
    spec: { id: 'feature', title: 'Feature term: Σ weight × feature loss (distillation.features)', xLabel: 'step', yLabel: 'loss', logAllowed: true },
    lines: [{ metric: 'feature', label: 'feature', students: ['kd'] }],
  },
  { spec: { id: 'ce', title: 'Cross-entropy with the labels', xLabel: 'step', yLabel: 'CE', logAllowed: true }, lines: [{ metric: 'ce' }] },
  { spec: { id: 'accuracy', title: 'Batch accuracy (train)', xLabel: 'step', yLabel: 'accuracy', percent: true }, lines: [{ metric: 'accuracy' }] },
  {
    spec: { id: 'schedule', title: 'Schedule: temperature T and weight α', xLabel: 'step', yLabel: 'T', y2Label: 'α', y2Range: [0, 1], yFromZero: true },
    // Only the KD student has a schedule, so α can have a colour of its own: where T and α sit at the same height,
    // the dashed α still shows on the solid T.
    lines: [
      { metric: 'temperature', label: 'T', students: ['kd'] },
      { metric: 'alpha', label: 'α', dash: [5, 4], scale: 'y2', students: ['kd'], palette: 3 },
    ],
  },
  { spec: { id: 'lr', title: 'Learning rate', xLabel: 'step', yLabel: 'lr', logAllowed: true }, lines: [{ metric: 'lr' }] },
];

/** Epoch metrics measured on the validation rows; a run with data.validationSplit 0 has none of them. */
const VALIDATION_METRICS = new Set<EpochMetric>(['valAccuracy', 'valMacroF1', 'klToTeacher', 'agreement']);

const EPOCH_CHARTS: EpochChartDef[] = [
  {
    spec: { id: 'epoch-accuracy', title: 'Accuracy: validation (solid) and train (dashed)', xLabel: 'epoch', yLabel: 'accuracy', percent: true, points: true },
    lines: [
      { metric: 'valAccuracy', label: 'val' },
      { metric: 'trainAccuracy', label: 'train', dash: [5, 4] },
    ],
  },
  {
    spec: { id: 'kl-to-teacher', title: 'KL(teacher ‖ student) on validation, T = 1', xLabel: 'epoch', yLabel: 'KL (nats)', logAllowed: true, points: true },
    lines: [{ metric: 'klToTeacher' }],
    models: STUDENTS,
  },
  {
    spec: { id: 'agreement', title: 'Agreement with the teacher’s top-1 (validation)', xLabel: 'epoch', yLabel: 'agreement', percent: true, points: true },
    lines: [{ metric: 'agreement' }],
    models: STUDENTS,
  },
  {
    spec: { id: 'macro-f1', title: 'Macro-F1 (validation)', xLabel: 'epoch', yLabel: 'macro-F1', percent: true, points: true },
    lines: [{ metric: 'valMacroF1' }],
  },
  {
    spec: { id: 'train-loss', title: 'Train loss (epoch mean)', xLabel: 'epoch', yLabel: 'loss', logAllowed: true, points: true },
    lines: [{ metric: 'trainLoss' }],
  },
];

/** Chart width for a container: two columns when there is room. */
export function chartWidth(containerWidth: number): number {
  const usable = Math.max(280, containerWidth - 8);
  return usable >= 960 ? Math.floor((usable - 16) / 2) : usable;
}

export class CurvesTab implements TabView {
  readonly element: HTMLElement;
  private readonly stepGroup = new ChartGroup('steps');
  private readonly epochGroup = new ChartGroup('epochs');
  private charts: CurveChart[] = [];
  /** Step lines that follow the smoothing slider. */
  private readonly smoothable = new Set<PlotLine>();
  private readonly readout: HTMLElement;
  private readonly stepGrid: HTMLElement;
  private readonly epochGrid: HTMLElement;
  /** Which students/metrics the charts were built for; a change (e.g. the baseline starts) rebuilds them. */
  private shape = '';
  private width: number;

  constructor(
    private readonly ctx: ViewContext,
    width: number,
  ) {
    this.width = width;
    this.stepGroup.onRefresh = () => this.updateReadout();
    const ui = ctx.ui();
    const smoothing = h('input#smoothing', { type: 'range', min: 0, max: 0.99, step: 0.01, value: ui.smoothing, 'aria-label': 'Smoothing' });
    const smoothingValue = h('output', { for: 'smoothing' }, ui.smoothing.toFixed(2));
    let pending: ReturnType<typeof setTimeout> | undefined;
    smoothing.addEventListener('input', () => {
      const w = Number(smoothing.value);
      smoothingValue.textContent = w.toFixed(2);
      ctx.setUi({ smoothing: w });
      // Re-smoothing a million steps takes a while: do it once the slider rests, not on every pixel of a drag.
      clearTimeout(pending);
      pending = setTimeout(() => {
        for (const l of this.smoothable) l.setSmoothing(w);
        this.stepGroup.scheduleRefresh();
      }, 80);
    });
    const log = h('input#log-scale', { type: 'checkbox', checked: ui.logScale });
    log.addEventListener('change', () => {
      ctx.setUi({ logScale: log.checked });
      this.rebuild();
    });
    const reset = h('button.secondary', { type: 'button', title: 'Show all steps (or double-click a chart)' }, 'Reset zoom');
    reset.addEventListener('click', () => {
      this.stepGroup.follow();
      this.epochGroup.follow();
    });
    this.readout = h('span.readout', { 'aria-live': 'off' });
    this.stepGrid = h('div.chart-grid', { 'data-section': 'steps' });
    this.epochGrid = h('div.chart-grid', { 'data-section': 'epochs' });
    this.element = h(
      'section.tab-curves',
      {},
      h(
        'div.toolbar',
        {},
        h('label', {}, 'Smoothing ', smoothing, ' ', smoothingValue),
        h('label', {}, log, ' Log scale'),
        reset,
        h('span.hint', {}, 'Drag to zoom · wheel to zoom · shift-drag to pan · double-click to reset'),
        this.readout,
      ),
      h('h2', {}, 'Per step'),
      this.stepGrid,
      h('h2', {}, 'Per epoch'),
      this.epochGrid,
    );
    this.rebuild();
  }

  private get run(): RunModel | undefined {
    return this.ctx.store.primary;
  }

  private shapeOf(run: RunModel | undefined): string {
    if (!run) return '';
    const steps = [...run.steps.keys()].join(',');
    const epochs = [...run.epochs.keys()].join(',');
    return `${steps}|${epochs}|${this.ctx.ui().logScale}`;
  }

  private rebuild(): void {
    for (const c of this.charts) c.destroy();
    this.charts = [];
    this.smoothable.clear();
    this.stepGrid.replaceChildren();
    this.epochGrid.replaceChildren();
    const run = this.run;
    this.shape = this.shapeOf(run);
    if (!run) return;
    const ui = this.ctx.ui();
    const width = chartWidth(this.width);

    for (const def of STEP_CHARTS) {
      const lines: CurveLine[] = [];
      for (const student of run.trained) {
        const table = run.steps.get(student);
        if (!table) continue;
        for (const l of def.lines) {
          if (l.students && !l.students.includes(student)) continue;
          if (!table.has(l.metric)) continue;
          const smooth = SMOOTHED.has(l.metric);
          const line = new PlotLine(table.x, table.metrics[l.metric], smooth ? ui.smoothing : 0);
          if (smooth) this.smoothable.add(line);
          const color = l.palette === undefined ? studentColor(this.ctx, student) : this.ctx.theme().palette[l.palette];
          lines.push({ label: l.label ? `${studentLabel(student)} ${l.label}` : studentLabel(student), line, color, dash: l.dash, scale: l.scale });
        }
      }
      if (!lines.length) continue;
      const chart = new CurveChart(def.spec, lines, this.ctx.theme(), this.stepGroup, width, ui.logScale);
      this.charts.push(chart);
      this.stepGrid.append(chart.root);
    }

    let withoutValidation = false;
    for (const def of EPOCH_CHARTS) {
      const lines: CurveLine[] = [];
      for (const student of run.trained) {
        const table = run.epochs.get(student);
        if (!table || (def.models && !def.models.includes(student))) continue;
        for (const l of def.lines) {
          // A run without validation rows has no validation curve: say so once, rather than draw empty charts.
          if (table.records.length && !table.has(l.metric)) {
            withoutValidation ||= VALIDATION_METRICS.has(l.metric);
            continue;
          }
          lines.push({
            label: l.label ? `${studentLabel(student)} ${l.label}` : studentLabel(student),
            line: new PlotLine(table.x, table.metrics[l.metric]),
            color: studentColor(this.ctx, student),
            dash: l.dash,
          });
        }
      }
      if (!lines.length) continue;
      const chart = new CurveChart(def.spec, lines, this.ctx.theme(), this.epochGroup, width, ui.logScale);
      this.charts.push(chart);
      this.epochGrid.append(chart.root);
    }
    if (!run.steps.size) this.stepGrid.append(h('p.placeholder', {}, 'No steps recorded yet.'));
    if (!run.epochs.size) this.epochGrid.append(h('p.placeholder', {}, 'Per-epoch curves appear when the first epoch ends.'));
    if (withoutValidation) {
      this.epochGrid.prepend(
        h(
          'p.placeholder.no-validation',
          {},
          'No validation curves: this run holds out no validation rows (data.validationSplit is 0), so every training row trains. The test-split report comes at the end; the soft-label heatmaps show training rows.',
        ),
      );
    }
    this.refresh(true);
  }

  private refresh(now = false): void {
    if (now) {
      this.stepGroup.refreshNow();
      this.epochGroup.refreshNow();
    } else {
      this.stepGroup.scheduleRefresh();
      this.epochGroup.scheduleRefresh();
    }
    this.updateReadout();
  }

  private updateReadout(): void {
    const run = this.run;
    if (!run) return;
    const steps = [...run.steps.values()].reduce((n, t) => n + t.length, 0);
    const drawn = this.charts.reduce((n, c) => n + c.drawnPoints, 0);
    this.readout.textContent = `${steps.toLocaleString('en-US')} step records · ${drawn.toLocaleString('en-US')} points drawn`;
    this.readout.dataset.steps = String(steps);
  }

  update(event: StoreEvent): void {
    if (event.kind === 'runs') return;
    const primary = this.run;
    const changes = event.kind === 'delta' && primary ? event.changes.get(primary) : undefined;
    // A snapshot, a reset run or a new student: the lines point at columns that changed, so build anew.
    if (event.kind === 'snapshot' || changes?.reset || this.shapeOf(primary) !== this.shape) {
      this.rebuild();
      return;
    }
    if (!changes) return;
    if (changes.steps) this.stepGroup.scheduleRefresh();
    if (changes.epochs) this.epochGroup.scheduleRefresh();
  }

  resize(width: number): void {
    if (Math.abs(width - this.width) < 4) return;
    this.width = width;
    const w = chartWidth(width);
    for (const c of this.charts) c.resize(w);
    this.refresh(true);
  }

  destroy(): void {
    this.stepGroup.destroy();
    this.epochGroup.destroy();
    this.element.remove();
  }
}
