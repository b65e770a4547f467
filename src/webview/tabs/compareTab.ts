/**
 * Several runs side by side: their curves overlaid (the KD student of each; `kd/T²` so that runs at different T
 * compare), a table of their summaries, and a diff of their configs. Runs are added from the same runs folder
 * through a request to the host, which then tails them too.
 */
import type { DistillConfig } from '../../shared/config';
import { runDisplayName } from '../../shared/runName';
import { differingKeys } from '../configDiff';
import type { RunListing } from '../../shared/webviewProtocol';
import { PlotLine } from '../charts/columns';
import { RunPicker } from '../runPicker';
import type { TabView, ViewContext } from '../context';
import { ChartGroup, CurveChart, type CurveChartSpec, type CurveLine } from '../charts/curves';
import { chartWidth } from './curvesTab';
import { formatNumber, formatPercent, h, replaceIfChanged } from '../dom';
import type { EpochMetric, RunModel, StoreEvent } from '../store';
import type { StepMetric } from '../../shared/webviewProtocol';

const STEP_OVERLAYS: { spec: CurveChartSpec; metric: StepMetric }[] = [
  { spec: { id: 'cmp-loss', title: 'Total loss (KD student)', xLabel: 'step', yLabel: 'loss', logAllowed: true }, metric: 'loss' },
  {
    spec: { id: 'cmp-kd-unscaled', title: 'Distillation term without T² (comparable across T)', xLabel: 'step', yLabel: 'kd/T²', logAllowed: true },
    metric: 'kdUnscaled',
  },
];
const EPOCH_OVERLAYS: { spec: CurveChartSpec; metric: EpochMetric }[] = [
  {
    spec: { id: 'cmp-val-accuracy', title: 'Validation accuracy (KD student)', xLabel: 'epoch', yLabel: 'accuracy', percent: true, points: true },
    metric: 'valAccuracy',
  },
  {
    spec: { id: 'cmp-kl', title: 'KL to the teacher (validation)', xLabel: 'epoch', yLabel: 'KL (nats)', logAllowed: true, points: true },
    metric: 'klToTeacher',
  },
];

export class CompareTab implements TabView {
  readonly element: HTMLElement;
  private readonly stepGroup = new ChartGroup('compare-steps');
  private readonly epochGroup = new ChartGroup('compare-epochs');
  private charts: CurveChart[] = [];
  private width: number;
  /** The runs (and their curves) the chips and charts were built for; only a change of these rebuilds them. */
  private shape = '';
  private listing: RunListing[] | undefined;
  /*
   * Built once and patched: the run list is open in the user's hand while a compared run is still training, and
   * a live status change must not close it, nor reset the charts' zoom.
   */
  private readonly picker: RunPicker;
  private readonly emptyHint = h('p.placeholder', {}, 'Check a run of the same runs folder to compare curves, summaries and configs.');
  private readonly curves = h('div.chart-grid', { 'data-section': 'compare' });
  private readonly summaryHost = h('div');
  private readonly configDiffHost = h('div');

  constructor(
    private readonly ctx: ViewContext,
    width: number,
  ) {
    this.width = width;
    this.picker = new RunPicker({
      toggle: (runDir, on) => (on ? this.addRun(runDir) : this.removeRun(runDir)),
      refresh: () => void this.fillRunList(true),
    });
    this.element = h(
      'section.tab-compare',
      {},
      h('h2', {}, 'Runs'),
      this.picker.element,
      this.emptyHint,
      h('h2', {}, 'Curves'),
      this.curves,
      h('h2', {}, 'Summaries'),
      this.summaryHost,
      h('h2', {}, 'Config differences'),
      this.configDiffHost,
    );
    this.render();
  }

  private runColor(i: number): string {
    const p = this.ctx.theme().palette;
    return p[i % p.length];
  }

  private shapeOf(): string {
    return this.ctx.store.runs.map((r) => `${r.runDir}:${r.steps.has('kd')}:${r.epochs.has('kd')}`).join('|') + `|${this.ctx.ui().logScale}`;
  }

  /** Everything from the store: chips and charts again when the runs changed, the rest patched. */
  render(): void {
    const runs = this.ctx.store.runs;
    if (this.shapeOf() !== this.shape) {
      this.shape = this.shapeOf();
      this.buildCharts();
      void this.fillRunList(false);
    }
    this.emptyHint.hidden = runs.length >= 2;
    for (const r of runs) this.picker.setLive(r.runDir, { status: r.status, name: runDisplayName(r) });
    replaceIfChanged(this.summaryHost, this.summaryTable(runs));
    replaceIfChanged(this.configDiffHost, this.configDiff(runs));
    this.stepGroup.refreshNow();
    this.epochGroup.refreshNow();
  }

  private buildCharts(): void {
    for (const c of this.charts) c.destroy();
    this.charts = [];
    const runs = this.ctx.store.runs;
    const ui = this.ctx.ui();
    const width = chartWidth(this.width);
    for (const o of STEP_OVERLAYS) {
      const lines: CurveLine[] = [];
      runs.forEach((r, i) => {
        const t = r.steps.get('kd');
        if (t?.has(o.metric)) lines.push({ label: runDisplayName(r), line: new PlotLine(t.x, t.metrics[o.metric], ui.smoothing), color: this.runColor(i) });
      });
      if (lines.length) this.charts.push(new CurveChart(o.spec, lines, this.ctx.theme(), this.stepGroup, width, ui.logScale));
    }
    for (const o of EPOCH_OVERLAYS) {
      const lines: CurveLine[] = [];
      runs.forEach((r, i) => {
        const t = r.epochs.get('kd');
        if (t) lines.push({ label: runDisplayName(r), line: new PlotLine(t.x, t.metrics[o.metric]), color: this.runColor(i) });
      });
      if (lines.length) this.charts.push(new CurveChart(o.spec, lines, this.ctx.theme(), this.epochGroup, width, ui.logScale));
    }
    this.curves.replaceChildren(...this.charts.map((c) => c.root));
  }

  /** The picker's list: the folder's runs (asked of the host when `refresh` or not known yet) and those compared. */
  private async fillRunList(refresh: boolean): Promise<void> {
    try {
      if (refresh || !this.listing) this.listing = await this.ctx.channel.request('listRuns', {});
    } catch (e) {
      this.ctx.reportError(e);
      return;
    }
    this.updatePicker();
  }

  private updatePicker(): void {
    const runs = this.ctx.store.runs;
    const shown = new Map(runs.map((r, i) => [r.runDir, this.runColor(i)]));
    const live = new Map(runs.map((r) => [r.runDir, r]));
    const listed = (this.listing ?? []).map((l) => {
      const r = live.get(l.runDir);
      return { ...l, ...(r ? { status: r.status, name: runDisplayName(r) } : {}) };
    });
    for (const r of runs)
      if (!listed.some((l) => l.runDir === r.runDir))
        listed.push({ runDir: r.runDir, runId: r.runId, name: runDisplayName(r), status: r.status, startedAt: r.statusFile?.startedAt });
    this.picker.update(listed, shown, runs[0]?.runDir ?? '');
  }

  private async addRun(runDir: string): Promise<void> {
    try {
      const data = await this.ctx.channel.request('addRun', { runDir });
      this.ctx.store.addRun(data);
    } catch (e) {
      this.ctx.reportError(e);
    }
  }

  private async removeRun(runDir: string): Promise<void> {
    this.ctx.store.removeRun(runDir);
    this.updatePicker();
    try {
      await this.ctx.channel.request('removeRun', { runDir });
    } catch (e) {
      this.ctx.reportError(e);
    }
  }

  private summaryTable(runs: readonly RunModel[]): HTMLElement {
    const rows: [string, (r: RunModel) => string][] = [
      ['Status', (r) => r.status],
      ['Teacher', (r) => describeModel(r.config?.teacher)],
      ['Student', (r) => describeModel(r.config?.student)],
      ['Divergence', (r) => r.config?.distillation.divergence ?? '—'],
      ['T · α', (r) => (r.config ? `${r.config.distillation.temperature} · ${r.config.distillation.alpha}` : '—')],
      ['Schedule', (r) => r.config?.distillation.schedule.type ?? '—'],
      ['Epochs · batch · lr', (r) => (r.config ? `${r.config.training.epochs} · ${r.config.training.batchSize} · ${r.config.training.learningRate}` : '—')],
      ['KD test accuracy', (r) => formatPercent(r.summary?.student.accuracy, 2)],
      ['Scratch test accuracy', (r) => formatPercent(r.summary?.baseline?.accuracy, 2)],
      ['Teacher test accuracy', (r) => formatPercent(r.summary?.teacher.accuracy, 2)],
      [
        'Teacher accuracy kept',
        (r) => (r.summary?.student.teacherAccuracyKeptPct === undefined ? '—' : `${r.summary.student.teacherAccuracyKeptPct.toFixed(1)}%`),
      ],
      ['KD ECE', (r) => formatNumber(r.summary?.student.ece)],
      ['KD macro-F1', (r) => formatPercent(r.summary?.student.macroF1, 2)],
      ['Best val accuracy (KD)', (r) => formatPercent(maxOf(r.epochs.get('kd')?.records.flatMap((e) => (e.val ? [e.val.accuracy] : []))), 2)],
      ['Seconds', (r) => formatNumber(r.summary?.seconds, 4)],
      ['Backend', (r) => r.summary?.backend.name ?? '—'],
    ];
    return h(
      'table.compare-summary',
      {},
      h('thead', {}, h('tr', {}, h('th'), ...runs.map((r) => h('th', { scope: 'col', title: r.runId }, runDisplayName(r))))),
      h('tbody', {}, ...rows.map(([label, cell]) => h('tr', {}, h('th', { scope: 'row' }, label), ...runs.map((r) => h('td', {}, cell(r)))))),
    );
  }

  private configDiff(runs: readonly RunModel[]): HTMLElement {
    if (runs.length < 2) return h('p.hint', {}, 'With two or more runs, the config keys whose values differ are listed here.');
    const { keys, flat } = differingKeys(runs.map((r) => r.config));
    if (!keys.length) return h('p', {}, 'The configs are identical.');
    return h(
      'table.config-diff',
      {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'key'), ...runs.map((r) => h('th', { scope: 'col', title: r.runId }, runDisplayName(r))))),
      h(
        'tbody',
        {},
        ...keys.map((k) =>
          h('tr', { 'data-key': k }, h('th', { scope: 'row' }, h('code', {}, k)), ...flat.map((f) => h('td', {}, h('code', {}, f[k] ?? '—')))),
        ),
      ),
    );
  }

  update(event: StoreEvent): void {
    if (event.kind === 'delta' && [...event.changes.values()].some((c) => c.reset)) this.shape = ''; // new columns: new lines
    if (event.kind !== 'delta' || this.shapeOf() !== this.shape || [...event.changes.values()].some((c) => c.meta || c.reset)) {
      this.render();
      return;
    }
    this.stepGroup.scheduleRefresh();
    this.epochGroup.scheduleRefresh();
  }

  resize(width: number): void {
    if (Math.abs(width - this.width) < 4) return;
    this.width = width;
    for (const c of this.charts) c.resize(chartWidth(width));
    this.stepGroup.refreshNow();
    this.epochGroup.refreshNow();
  }

  destroy(): void {
    this.stepGroup.destroy();
    this.epochGroup.destroy();
    this.element.remove();
  }
}

function describeModel(m: DistillConfig['teacher'] | DistillConfig['student'] | undefined): string {
  if (!m) return '—';
  if ('preset' in m) return m.hidden ? `${m.preset} [${m.hidden.join(', ')}]` : m.preset;
  if ('model' in m) return m.model.split(/[\\/]/).slice(-2).join('/');
  return 'precomputed logits';
}

const maxOf = (values: number[] | undefined): number | undefined => (values?.length ? Math.max(...values) : undefined);
