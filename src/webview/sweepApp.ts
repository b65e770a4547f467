/**
 * The Sweep view: one sweep directory as a heatmap of the objective over two chosen axes (one map per combination of
 * the other axes), coloured by Δ against the scratch student the trials are compared with, mean ± std over repeats
 * in each cell's tooltip, and a sortable table of every trial. A cell or a row opens that trial's run dashboard.
 *
 * The host posts the whole sweep on `ready` and again whenever its files change, so cells fill in as trials finish.
 * The frame (header, axis pickers) is built once and patched; the maps and the table are rebuilt per message with the
 * keyboard focus put back on the same cell or row. Keyboard: Tab reaches each map and the table; arrow keys move
 * between cells (Home/End: row ends); Enter or Space opens; the table's column headers are buttons that sort.
 */
import { mix, luminance, parseCssColor, rgbCss, type Rgb } from './charts/colorScale';
import { h, setAttr, setText } from './dom';
import { readTheme, watchTheme, type Theme } from './charts/theme';
import {
  SWEEP_VIEW_STATE_VERSION,
  isSweepViewState,
  type HostToSweepView,
  type SweepData,
  type SweepSortKey,
  type SweepTrialRow,
  type SweepUiState,
  type SweepViewState,
  type SweepViewToHost,
} from '../shared/sweepProtocol';
import {
  buildHeatmap,
  cellTone,
  chooseAxes,
  formatObjective,
  formatStats,
  formatValue,
  isFraction,
  sortTrials,
  sweepCounts,
  trialDelta,
  type Heatmap,
  type HeatmapCell,
} from '../shared/sweepView';

const NO_ROWS = '';

class SweepChannel {
  private readonly api = acquireVsCodeApi<SweepViewState>();
  constructor(onMessage: (m: HostToSweepView) => void) {
    window.addEventListener('message', (event: MessageEvent<HostToSweepView>) => {
      const m = event.data;
      if (m && typeof m === 'object' && m.type === 'sweep') onMessage(m);
    });
  }
  post(message: SweepViewToHost): void {
    this.api.postMessage(message);
  }
  get state(): SweepViewState | undefined {
    return this.api.getState();
  }
  set state(s: SweepViewState) {
    this.api.setState(s);
  }
}

/** Colours of the map: the editor background at Δ 0, charts-blue for better than scratch, charts-orange for worse. */
export interface SweepColors {
  zero: Rgb;
  better: Rgb;
  worse: Rgb;
}

export const sweepColors = (t: Theme): SweepColors => ({
  zero: t.heat.zero,
  better: parseCssColor(t.palette[0]) ?? t.heat.high,
  worse: parseCssColor(t.palette[1]) ?? t.heat.negative,
});

/** A cell's colour from its tone (cellTone): |tone| of the way from the background to blue (better) or orange (worse). */
export const toneColor = (c: SweepColors, tone: number): Rgb => (tone < 0 ? mix(c.zero, c.worse, -tone) : mix(c.zero, c.better, tone));

const STATUS_TEXT: Record<SweepTrialRow['status'], string> = {
  pending: 'pending',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  stopped: 'stopped',
  interrupted: 'interrupted',
};

export class SweepApp {
  private readonly channel: SweepChannel;
  private data: SweepData | undefined;
  private loaded = false;
  private ui: SweepUiState;
  private theme: Theme = readTheme();
  private readonly parts = {
    title: h('h1'),
    status: h('span.status'),
    progress: h('span.progress'),
    reason: h('span.reason'),
    sweepId: h('span.run-id'),
    objective: h('p.sweep-objective.hint'),
    noSweep: h('p.placeholder', {}, 'This folder has no sweep.json: it is not a Distill sweep, or it was deleted.'),
  };
  private readonly header: HTMLElement;
  private readonly xSelect = h('select#sweep-x', { 'aria-label': 'Heatmap columns (x axis)' });
  private readonly ySelect = h('select#sweep-y', { 'aria-label': 'Heatmap rows (y axis)' });
  private readonly controls: HTMLElement;
  private readonly legend = h('div.sweep-legend');
  private readonly facets = h('div.sweep-facets');
  private readonly tooltip = h('div.tooltip.sweep-tooltip#sweep-tooltip', { role: 'tooltip', hidden: true });
  private readonly table = h('table.sweep-trials', { 'aria-label': 'Trials of the sweep' });
  private readonly tableCaption = h('h2', {}, 'Trials');
  private readonly errorBanner = h('div.error-banner', { role: 'alert', hidden: true });
  private axesKey = '';

  constructor(private readonly root: HTMLElement) {
    this.channel = new SweepChannel((m) => this.onMessage(m));
    const saved = this.channel.state;
    this.ui = isSweepViewState(saved) ? saved.ui : { sort: { key: 'objective', descending: true } };
    this.header = this.buildHeader();
    this.controls = h(
      'div.sweep-controls',
      {},
      h('label', { for: 'sweep-x' }, 'Columns '),
      this.xSelect,
      h('label', { for: 'sweep-y' }, 'Rows '),
      this.ySelect,
    );
    this.xSelect.addEventListener('change', () => this.setUi({ x: this.xSelect.value }));
    this.ySelect.addEventListener('change', () => this.setUi({ y: this.ySelect.value === NO_ROWS ? null : this.ySelect.value }));
    this.facets.addEventListener('keydown', (e) => this.onGridKey(e));
    watchTheme((t) => {
      this.theme = t;
      this.render();
    });
    window.addEventListener('error', (e) => this.reportError(e.error ?? e.message));
    window.addEventListener('unhandledrejection', (e) => this.reportError(e.reason));
    this.channel.post({ type: 'ready' });
  }

  private setUi(patch: Partial<SweepUiState>): void {
    this.ui = { ...this.ui, ...patch };
    this.persist();
    this.render();
  }

  private persist(): void {
    if (this.data) this.channel.state = { version: SWEEP_VIEW_STATE_VERSION, view: 'sweep', sweepDir: this.data.sweepDir, ui: this.ui };
  }

  private onMessage(m: HostToSweepView): void {
    try {
      this.data = m.data;
      if (!this.loaded) {
        this.loaded = true;
        this.root.replaceChildren(
          this.errorBanner,
          this.header,
          this.parts.noSweep,
          this.controls,
          this.parts.objective,
          this.legend,
          this.facets,
          this.tableCaption,
          this.table,
          this.tooltip,
        );
      }
      this.persist();
      this.render();
    } catch (e) {
      this.reportError(e);
    }
  }

  private buildHeader(): HTMLElement {
    const open = (file: 'sweep' | 'results' | 'best', label: string, title: string) => {
      const b = h('button.secondary', { type: 'button', title, 'data-file': file }, label);
      b.addEventListener('click', () => this.channel.post({ type: 'openFile', file }));
      return b;
    };
    const p = this.parts;
    return h(
      'header.run-header.sweep-header',
      {},
      p.title,
      p.status,
      p.progress,
      p.reason,
      p.sweepId,
      open('sweep', 'Open sweep.json', 'The resolved sweep: its trials, status and best point'),
      open('results', 'Open results', 'results.jsonl: one line per finished trial'),
      open('best', 'Open best config', 'best.distill.json: a runnable config of the best point'),
    );
  }

  private render(): void {
    if (!this.loaded) return;
    const d = this.data;
    for (const el of [this.header, this.controls, this.parts.objective, this.legend, this.facets, this.tableCaption, this.table]) el.hidden = !d;
    this.parts.noSweep.hidden = !!d;
    if (!d) return;
    this.renderHeader(d);
    const { x, y } = chooseAxes(d.axes, this.ui.x, this.ui.y);
    this.renderControls(d, x, y);
    const map = buildHeatmap(d, x, y);
    this.renderLegend(d, map);
    this.renderFacets(d, map);
    this.renderTable(d);
  }

  private renderHeader(d: SweepData): void {
    const p = this.parts;
    const c = sweepCounts(d.trials);
    setText(p.title, d.name);
    setText(p.status, d.status);
    setAttr(p.status, 'class', `status status-${d.status}`);
    setAttr(p.status, 'data-status', d.status);
    setText(
      p.progress,
      `${c.done} of ${c.total} trials done${c.running ? ` · ${c.running} running` : ''}${c.failed ? ` · ${c.failed} failed` : ''} · ${d.executor}`,
    );
    setText(p.reason, d.reason ?? '');
    p.reason.hidden = !d.reason;
    setText(p.sweepId, d.sweepId);
    const goal = d.objective.goal === 'max' ? 'higher is better' : 'lower is better';
    setText(
      p.objective,
      `Objective: ${d.objective.metric} (${goal}). ${d.repeats > 1 ? `Each cell is the mean over its ${d.repeats} repeats (seeds); hover or focus a cell for mean ± std.` : 'Hover or focus a cell for its numbers.'} Enter or click opens the cell's ${d.repeats > 1 ? 'best ' : ''}trial.`,
    );
    const best = this.header.querySelector<HTMLButtonElement>('button[data-file="best"]');
    if (best) best.disabled = !d.trials.some((t) => t.kind === 'trial' && t.status === 'completed');
  }

  private renderControls(d: SweepData, x: string, y: string | undefined): void {
    const key = d.axes.map((a) => a.path).join('\0');
    if (key !== this.axesKey) {
      this.axesKey = key;
      this.xSelect.replaceChildren(...d.axes.map((a) => h('option', { value: a.path }, a.path)));
      this.ySelect.replaceChildren(h('option', { value: NO_ROWS }, '(one row)'), ...d.axes.map((a) => h('option', { value: a.path }, a.path)));
    }
    this.xSelect.value = x;
    this.ySelect.value = y ?? NO_ROWS;
    for (const o of this.ySelect.options) o.disabled = o.value === x;
    // With one axis there is nothing to choose for the rows.
    this.ySelect.disabled = d.axes.length < 2;
  }

  private renderLegend(d: SweepData, map: Heatmap): void {
    const colors = sweepColors(this.theme);
    const metric = d.objective.metric;
    const swatch = (tone: number, label: string) => {
      const s = h('span.sweep-swatch', { 'aria-hidden': 'true', title: label });
      s.style.background = rgbCss(toneColor(colors, tone));
      return s;
    };
    const stops = [-1, -0.5, 0, 0.5, 1];
    if (map.baseline) {
      const scale = map.maxDelta > 0 ? formatObjective(map.maxDelta, metric, true).replace(/^\+/, '') : '';
      this.legend.replaceChildren(
        h('span.sweep-legend-end', {}, `worse than scratch${scale ? ` (−${scale})` : ''}`),
        ...stops.map((t) => swatch(t, t === 0 ? 'same as scratch' : '')),
        h('span.sweep-legend-end', {}, `better${scale ? ` (+${scale})` : ''}`),
        h(
          'span.sweep-baseline',
          { 'data-baseline': String(map.baseline.mean) },
          map.baselineCount > 1
            ? `Scratch baselines: ${formatStats(map.baseline, metric)} overall; each cell is compared with the scratch students of its own trials (student, seeds), shown in its tooltip.`
            : `Scratch baseline: ${formatObjective(map.baseline.mean, metric)} — cells show Δ against it by colour.`,
        ),
      );
    } else {
      const r = map.range;
      this.legend.replaceChildren(
        h('span.sweep-legend-end', {}, r ? `worst ${formatObjective(d.objective.goal === 'max' ? r.min : r.max, metric)}` : 'worst'),
        ...[0, 0.25, 0.5, 0.75, 1].map((t) => swatch(t, '')),
        h('span.sweep-legend-end', {}, r ? `best ${formatObjective(d.objective.goal === 'max' ? r.max : r.min, metric)}` : 'best'),
        h(
          'span.sweep-baseline.hint',
          {},
          d.trials.some((t) => t.kind === 'baseline') ? 'Scratch baseline: not finished yet.' : 'This sweep trains no scratch baseline (baseline: false).',
        ),
      );
    }
  }

  private renderFacets(d: SweepData, map: Heatmap): void {
    const focused =
      document.activeElement instanceof HTMLElement && this.facets.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
    const colors = sweepColors(this.theme);
    const metric = d.objective.metric;
    const figures = map.facets.map((facet, fi) => {
      const table = h('table.sweep-heatmap', {
        role: 'grid',
        'aria-label': `${d.objective.metric} over ${map.x.path}${map.y ? ` and ${map.y.path}` : ''}${facet.label ? `, ${facet.label}` : ''}`,
        'data-facet': fi,
      });
      // The x axis's name over its values; the y axis's name in the corner, over its values.
      table.append(
        h(
          'thead',
          {},
          h('tr', {}, h('td.sweep-corner'), h('th.sweep-axis-name', { scope: 'colgroup', colspan: map.x.labels.length }, `${map.x.path} →`)),
          h('tr', {}, h('th.sweep-corner', { scope: 'col' }, map.y ? `${map.y.path} ↓` : ''), ...map.x.labels.map((l) => h('th', { scope: 'col' }, l))),
        ),
      );
      const body = h('tbody');
      facet.cells.forEach((row, yi) => {
        const tr = h('tr', {}, h('th', { scope: 'row' }, map.y ? map.y.labels[yi] : ''));
        for (const cell of row) tr.append(this.cellElement(d, map, cell, fi, colors, metric));
        body.append(tr);
      });
      table.append(body);
      // Roving tab stop: the first cell of each map (or the one focused before this update).
      const cells = [...table.querySelectorAll<HTMLElement>('td[role="gridcell"]')];
      const stop = cells.find((c) => c.dataset.key === focused) ?? cells[0];
      if (stop) stop.tabIndex = 0;
      return h('figure.sweep-facet', {}, facet.label ? h('figcaption', {}, facet.label) : null, table);
    });
    this.facets.replaceChildren(...figures);
    if (focused) this.facets.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`)?.focus();
  }

  private cellElement(d: SweepData, map: Heatmap, cell: HeatmapCell, facet: number, colors: SweepColors, metric: string): HTMLElement {
    const tone = cellTone(cell, map, d.objective.goal);
    const td = h('td.sweep-cell', {
      role: 'gridcell',
      tabindex: '-1',
      'data-x': cell.x,
      'data-y': cell.y,
      'data-key': `${facet}:${cell.x}:${cell.y}`,
      'data-trial': cell.open,
      'aria-describedby': 'sweep-tooltip',
    });
    if (!cell.trials.length) {
      td.classList.add('empty');
      td.setAttribute('aria-label', 'no trial');
      return td;
    }
    if (tone !== undefined) {
      const bg = toneColor(colors, tone);
      td.style.background = rgbCss(bg);
      td.style.color = luminance(bg) > 0.35 ? '#000000' : '#ffffff';
      td.dataset.tone = tone.toFixed(4);
    } else td.classList.add('pending');
    if (cell.running) td.classList.add('running');
    const value = cell.value ? formatObjective(cell.value.mean, metric) : cell.running ? 'running…' : cell.failed === cell.trials.length ? 'failed' : '…';
    const sub = cell.value
      ? `${cell.value.n > 1 ? `± ${isFraction(metric) ? (cell.value.std * 100).toFixed(2) : formatObjective(cell.value.std, metric)}` : ''}${cell.value.n < cell.trials.length ? ` ${cell.value.n}/${cell.trials.length}` : ''}`.trim()
      : `${cell.completed + cell.failed}/${cell.trials.length}`;
    td.append(h('span.sweep-value', {}, value), h('span.sweep-sub', {}, sub));
    const text = this.cellText(d, map, cell);
    td.setAttribute('aria-label', text.replace(/\n/g, '; '));
    const show = () => this.showTooltip(td, text);
    td.addEventListener('mouseenter', show);
    td.addEventListener('focus', show);
    td.addEventListener('mouseleave', () => this.hideTooltip());
    td.addEventListener('blur', () => this.hideTooltip());
    td.addEventListener('click', () => {
      td.focus();
      this.openTrial(cell.open);
    });
    return td;
  }

  /** The tooltip's lines: where the cell is, mean ± std, its scratch baseline and Δ, and how many trials are done. */
  private cellText(d: SweepData, map: Heatmap, cell: HeatmapCell): string {
    const metric = d.objective.metric;
    const lines = [`${map.x.path} = ${map.x.labels[cell.x]}${map.y ? ` · ${map.y.path} = ${map.y.labels[cell.y]}` : ''}`];
    lines.push(cell.value ? `${metric}: ${formatStats(cell.value, metric)}` : `${metric}: no trial finished yet`);
    if (cell.baseline) lines.push(`scratch: ${formatStats(cell.baseline, metric)} · Δ ${formatObjective(cell.delta, metric, true)}`);
    lines.push(
      `${cell.completed} of ${cell.trials.length} trials done${cell.running ? `, ${cell.running} running` : ''}${cell.failed ? `, ${cell.failed} failed` : ''}`,
    );
    if (cell.open) lines.push(`Enter or click: open ${cell.open}`);
    return lines.join('\n');
  }

  private showTooltip(anchor: HTMLElement, text: string): void {
    this.tooltip.replaceChildren(...text.split('\n').flatMap((l, i) => (i ? [h('br'), l] : [l])));
    this.tooltip.hidden = false;
    const a = anchor.getBoundingClientRect();
    const r = this.root.getBoundingClientRect();
    // Beside the cell, so that it hides no other cell of the row or column.
    this.tooltip.style.left = `${a.right - r.left + 8}px`;
    this.tooltip.style.top = `${a.top - r.top}px`;
  }

  private hideTooltip(): void {
    this.tooltip.hidden = true;
  }

  /** Arrow keys move between the cells of one map; Home/End go to the ends of the row; Enter/Space open. */
  private onGridKey(e: KeyboardEvent): void {
    const cell = e.target instanceof HTMLElement ? e.target.closest<HTMLElement>('td[role="gridcell"]') : null;
    if (!cell) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.openTrial(cell.dataset.trial);
      return;
    }
    const table = cell.closest('table')!;
    const rows = [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll<HTMLElement>('td[role="gridcell"]')]);
    const y = Number(cell.dataset.y);
    const x = Number(cell.dataset.x);
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [y, x - 1],
      ArrowRight: [y, x + 1],
      ArrowUp: [y - 1, x],
      ArrowDown: [y + 1, x],
      Home: [y, 0],
      End: [y, rows[y].length - 1],
    };
    const to = moves[e.key];
    if (!to) return;
    e.preventDefault();
    const next = rows[to[0]]?.[to[1]];
    if (!next) return;
    cell.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }

  private renderTable(d: SweepData): void {
    const focused =
      document.activeElement instanceof HTMLElement && this.table.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
    const metric = d.objective.metric;
    const byId = new Map(d.trials.map((t) => [t.id, t]));
    const columns: { key: SweepSortKey; label: string; numeric?: boolean }[] = [
      { key: 'id', label: 'Trial' },
      ...d.axes.map((a) => ({ key: `axis:${a.path}` as SweepSortKey, label: a.path })),
      { key: 'seed', label: 'Seed', numeric: true },
      { key: 'status', label: 'Status' },
      { key: 'objective', label: metric, numeric: true },
      { key: 'delta', label: 'Δ vs scratch', numeric: true },
      { key: 'seconds', label: 'Time', numeric: true },
    ];
    const sort = this.ui.sort;
    const head = h(
      'tr',
      {},
      ...columns.map((c) => {
        const active = sort.key === c.key;
        const button = h(
          'button.sort',
          { type: 'button', 'data-key': `sort:${c.key}`, title: `Sort by ${c.label}` },
          c.label,
          active ? (sort.descending ? ' ▼' : ' ▲') : '',
        );
        button.addEventListener('click', () => this.setUi({ sort: { key: c.key, descending: active ? !sort.descending : c.numeric === true } }));
        return h('th', { scope: 'col', 'aria-sort': active ? (sort.descending ? 'descending' : 'ascending') : 'none' }, button);
      }),
    );
    const rows = sortTrials(d.trials, sort.key, sort.descending).map((t) => {
      const delta = trialDelta(t, byId);
      const status = t.status === 'running' && t.progress !== undefined ? `running ${Math.round(t.progress * 100)}%` : STATUS_TEXT[t.status];
      const tr = h(
        'tr.sweep-trial',
        { tabindex: '0', 'data-trial': t.id, 'data-key': `row:${t.id}`, title: t.reason ?? `Open the run dashboard of ${t.id}` },
        h('th', { scope: 'row' }, t.kind === 'baseline' ? `${t.id} (scratch)` : t.id),
        ...d.axes.map((a) => h('td.param', {}, a.path in t.params ? formatValue(t.params[a.path]) : '—')),
        h('td', {}, String(t.seed)),
        h(`td.trial-status.status-text-${t.status}`, {}, status),
        h('td.objective', {}, t.status === 'completed' ? formatObjective(t.objective, metric) : '—'),
        h(
          `td.delta${delta === undefined ? '' : delta * (d.objective.goal === 'max' ? 1 : -1) > 0 ? '.better' : delta === 0 ? '' : '.worse'}`,
          {},
          formatObjective(delta, metric, true),
        ),
        h('td', {}, t.seconds !== undefined ? `${t.seconds.toFixed(1)} s` : '—'),
      );
      tr.addEventListener('click', () => this.openTrial(t.id));
      tr.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          this.openTrial(t.id);
        } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
          e.preventDefault();
          const next = e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
          if (next instanceof HTMLElement) next.focus();
        }
      });
      return tr;
    });
    this.table.replaceChildren(h('thead', {}, head), h('tbody', {}, ...rows));
    if (focused) this.table.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"]`)?.focus();
  }

  private openTrial(id: string | undefined): void {
    if (id) this.channel.post({ type: 'openTrial', trial: id });
  }

  private reportError(error: unknown): void {
    const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
    this.errorBanner.hidden = false;
    this.errorBanner.textContent = `The sweep view hit an error: ${message.split('\n')[0]}. Details are in the Distill log.`;
    this.channel.post({ type: 'error', message });
  }
}
