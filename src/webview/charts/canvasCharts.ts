/**
 * Small canvas charts drawn in theme colours: grouped bars (distributions, per-class F1) and labelled matrices
 * (heatmaps, confusion matrices). Each canvas records its cell geometry in data attributes, which is also how the
 * click handlers and the browser tests find a cell.
 */
import { luminance, rgbCss, type Rgb } from './colorScale';
import { sizeCanvas } from '../dom';
import { canvasFont, type Theme } from './theme';

export interface BarGroup {
  label: string;
  color: string;
  values: ArrayLike<number>;
}

export interface BarChartOptions {
  width: number;
  height: number;
  categories: readonly string[];
  groups: readonly BarGroup[];
  /** Top of the y axis; default: the largest value. */
  yMax?: number;
  percent?: boolean;
  title?: string;
}

/** Grouped bars: one group of bars per category, one bar per series, with a legend and y gridlines. */
export function drawGroupedBars(canvas: HTMLCanvasElement, theme: Theme, o: BarChartOptions): void {
  const ctx = sizeCanvas(canvas, o.width, o.height);
  ctx.clearRect(0, 0, o.width, o.height);
  const left = 44;
  const right = 8;
  const top = o.title ? 40 : 24;
  const plotW = Math.max(10, o.width - left - right);
  // Category labels that do not fit under their group are written at 45°, whole, with the room they need below.
  ctx.font = canvasFont(theme, 0.85);
  const labelW = Math.max(0, ...o.categories.map((c) => ctx.measureText(c).width));
  const slanted = labelW > plotW / Math.max(1, o.categories.length) - 2;
  const bottom = slanted ? Math.ceil(labelW * Math.SQRT1_2) + 20 : 44;
  const plotH = Math.max(10, o.height - top - bottom);
  let yMax = o.yMax ?? 0;
  if (o.yMax === undefined) for (const g of o.groups) for (let i = 0; i < g.values.length; i++) yMax = Math.max(yMax, g.values[i]);
  if (!(yMax > 0)) yMax = 1;

  ctx.font = canvasFont(theme, 0.85);
  ctx.textBaseline = 'middle';
  ctx.fillStyle = theme.foreground;
  if (o.title) {
    ctx.font = canvasFont(theme, 0.95, '600');
    ctx.textAlign = 'left';
    ctx.fillText(o.title, left, 10);
    ctx.font = canvasFont(theme, 0.85);
  }

  // Legend, right-aligned on the title line's row below it.
  let lx = left;
  const ly = top - 14;
  ctx.textAlign = 'left';
  for (const g of o.groups) {
    ctx.fillStyle = g.color;
    ctx.fillRect(lx, ly - 5, 10, 10);
    ctx.fillStyle = theme.foreground;
    ctx.fillText(g.label, lx + 14, ly);
    lx += 22 + ctx.measureText(g.label).width;
  }

  // Gridlines at quarters.
  ctx.strokeStyle = theme.grid;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  for (let q = 0; q <= 4; q++) {
    const v = (yMax * q) / 4;
    const y = Math.round(top + plotH - (plotH * q) / 4) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + plotW, y);
    ctx.stroke();
    ctx.fillStyle = theme.muted;
    ctx.fillText(o.percent ? `${Math.round(v * 100)}%` : v.toPrecision(2), left - 4, y);
  }

  const n = o.categories.length;
  const groupW = plotW / Math.max(1, n);
  const barW = Math.max(1, (groupW * 0.8) / Math.max(1, o.groups.length));
  o.groups.forEach((g, k) => {
    ctx.fillStyle = g.color;
    for (let i = 0; i < n; i++) {
      const v = Math.max(0, Math.min(yMax, g.values[i] ?? 0));
      const hgt = (plotH * v) / yMax;
      ctx.fillRect(left + i * groupW + groupW * 0.1 + k * barW, top + plotH - hgt, barW - 1, hgt);
    }
  });

  ctx.fillStyle = theme.foreground;
  if (slanted) {
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let i = 0; i < n; i++) {
      ctx.save();
      ctx.translate(left + (i + 0.5) * groupW, top + plotH + 8);
      ctx.rotate(-Math.PI / 4);
      ctx.fillText(o.categories[i], 0, 0);
      ctx.restore();
    }
    return;
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (let i = 0; i < n; i++) fitText(ctx, o.categories[i], left + (i + 0.5) * groupW, top + plotH + 6, groupW - 2);
}

/** Writes `text` centred at x, shortened with an ellipsis to `maxWidth`. */
export function fitText(ctx: CanvasRenderingContext2D, text: string, x: number, y: number, maxWidth: number): void {
  let t = text;
  while (t.length > 1 && ctx.measureText(t).width > maxWidth) t = t.slice(0, -1);
  ctx.fillText(t === text ? t : `${t.slice(0, -1)}…`, x, y);
}

export interface MatrixOptions {
  rows: number;
  cols: number;
  cell: number;
  /** Height reserved above the cells for (rotated) column labels. */
  header: number;
  /** Width reserved left of the cells for row labels. */
  gutter?: number;
  colLabels: readonly string[];
  rowLabels?: readonly string[];
  color(row: number, col: number): Rgb;
  /** Text in a cell, when cells are big enough to hold it. */
  text?(row: number, col: number): string;
  title?: string;
  /** A row to outline. */
  selectedRow?: number;
}

export interface MatrixLayout {
  left: number;
  top: number;
  cell: number;
  rows: number;
  cols: number;
}

/** Column labels of a matrix are drawn rotated up-right by this angle. */
const LABEL_ANGLE = Math.PI / 3;
let measuring: CanvasRenderingContext2D | undefined;

/**
 * Room that a matrix's rotated column labels need, at their font: `header` above the cells, and `right` beyond the
 * last column's centre (a label leans right as it rises). Pass `header` as the matrix's header to fit every label.
 */
export function columnLabelRoom(theme: Theme, labels: readonly string[]): { header: number; right: number } {
  measuring ??= document.createElement('canvas').getContext('2d')!;
  measuring.font = canvasFont(theme, 0.8);
  const w = Math.max(0, ...labels.map((l) => measuring!.measureText(l).width));
  return { header: Math.ceil(w * Math.sin(LABEL_ANGLE)) + 12, right: Math.ceil(w * Math.cos(LABEL_ANGLE)) + 4 };
}

/** A labelled grid of coloured cells. Returns where the cells are (also stored on the canvas as data-*). */
export function drawMatrix(canvas: HTMLCanvasElement, theme: Theme, o: MatrixOptions): MatrixLayout {
  const left = o.gutter ?? 0;
  const top = o.header;
  // The last column's label leans right past the cells: widen the canvas so it is not cut off.
  const labelRight = o.cols ? columnLabelRoom(theme, [o.colLabels[o.cols - 1] ?? '']).right : 0;
  const width = left + o.cols * o.cell + 2 + Math.max(0, labelRight - o.cell / 2);
  const height = top + o.rows * o.cell + 2;
  const ctx = sizeCanvas(canvas, width, height);
  ctx.clearRect(0, 0, width, height);
  // Cells are drawn on whole pixels, so a cell's centre pixel has exactly its colour.
  for (let r = 0; r < o.rows; r++) {
    for (let c = 0; c < o.cols; c++) {
      ctx.fillStyle = rgbCss(o.color(r, c));
      ctx.fillRect(left + c * o.cell, top + r * o.cell, o.cell, o.cell);
    }
  }
  if (o.text && o.cell >= 20) {
    ctx.font = canvasFont(theme, Math.min(0.85, o.cell / 30));
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (let r = 0; r < o.rows; r++) {
      for (let c = 0; c < o.cols; c++) {
        const t = o.text(r, c);
        if (!t) continue;
        ctx.fillStyle = luminance(o.color(r, c)) > 0.35 ? '#000000' : '#ffffff';
        ctx.fillText(t, left + (c + 0.5) * o.cell, top + (r + 0.5) * o.cell, o.cell - 2);
      }
    }
  }

  ctx.fillStyle = theme.foreground;
  ctx.font = canvasFont(theme, 0.8);
  if (o.title) {
    ctx.font = canvasFont(theme, 0.95, '600');
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillText(o.title, 0, 2);
    ctx.font = canvasFont(theme, 0.8);
  }
  // Column labels, rotated so long class names fit over narrow columns.
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  for (let c = 0; c < o.cols; c++) {
    ctx.save();
    ctx.translate(left + (c + 0.5) * o.cell, top - 4);
    ctx.rotate(-LABEL_ANGLE);
    ctx.fillText(o.colLabels[c] ?? String(c), 0, 0, (o.header - 8) / Math.sin(LABEL_ANGLE));
    ctx.restore();
  }
  if (o.rowLabels && left > 0) {
    ctx.textAlign = 'right';
    for (let r = 0; r < o.rows; r++) ctx.fillText(o.rowLabels[r] ?? '', left - 4, top + (r + 0.5) * o.cell, left - 6);
  }
  if (o.selectedRow !== undefined && o.selectedRow >= 0 && o.selectedRow < o.rows) {
    ctx.strokeStyle = theme.accent;
    ctx.lineWidth = 2;
    ctx.strokeRect(left + 1, top + o.selectedRow * o.cell + 1, o.cols * o.cell - 2, o.cell - 2);
  }
  const layout = { left, top, cell: o.cell, rows: o.rows, cols: o.cols };
  Object.assign(canvas.dataset, { left: String(left), top: String(top), cell: String(o.cell), rows: String(o.rows), cols: String(o.cols) });
  return layout;
}

/** The cell under a mouse event, or undefined. */
export function cellAt(canvas: HTMLCanvasElement, e: MouseEvent): { row: number; col: number } | undefined {
  const rect = canvas.getBoundingClientRect();
  const left = Number(canvas.dataset.left ?? 0);
  const top = Number(canvas.dataset.top ?? 0);
  const cell = Number(canvas.dataset.cell ?? 0);
  const rows = Number(canvas.dataset.rows ?? 0);
  const cols = Number(canvas.dataset.cols ?? 0);
  if (!cell) return undefined;
  const col = Math.floor((e.clientX - rect.left - left) / cell);
  const row = Math.floor((e.clientY - rect.top - top) / cell);
  return row >= 0 && row < rows && col >= 0 && col < cols ? { row, col } : undefined;
}

/** The row under a mouse event on any canvas with matrix geometry (heatmaps, the thumbnail column), or undefined. */
export function rowAt(canvas: HTMLCanvasElement, e: MouseEvent): number | undefined {
  const top = Number(canvas.dataset.top ?? 0);
  const cell = Number(canvas.dataset.cell ?? 0);
  const rows = Number(canvas.dataset.rows ?? 0);
  if (!cell) return undefined;
  const row = Math.floor((e.clientY - canvas.getBoundingClientRect().top - top) / cell);
  return row >= 0 && row < rows ? row : undefined;
}

/** A horizontal colour bar with tick labels, for a heatmap's scale. */
export function drawColorLegend(
  canvas: HTMLCanvasElement,
  theme: Theme,
  o: { width: number; label: string; ticks: { at: number; text: string }[]; color(t: number): Rgb },
): void {
  const height = 38;
  const ctx = sizeCanvas(canvas, o.width, height);
  ctx.clearRect(0, 0, o.width, height);
  const barLeft = 4;
  const barW = o.width - 8;
  for (let x = 0; x < barW; x++) {
    ctx.fillStyle = rgbCss(o.color(x / Math.max(1, barW - 1)));
    ctx.fillRect(barLeft + x, 14, 1, 10);
  }
  ctx.strokeStyle = theme.grid;
  ctx.strokeRect(barLeft + 0.5, 14.5, barW - 1, 9);
  ctx.fillStyle = theme.foreground;
  ctx.font = canvasFont(theme, 0.8);
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';
  ctx.fillText(o.label, barLeft, 0);
  ctx.textAlign = 'center';
  for (const t of o.ticks) ctx.fillText(t.text, Math.min(o.width - 12, Math.max(8, barLeft + t.at * barW)), 26);
}
