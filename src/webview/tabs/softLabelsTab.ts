/**
 * Soft labels of the probe set: the teacher's p_t at T, the student's p_s at T and their difference, one row per
 * sample (with its thumbnail), one column per class, on a shared colour scale. The temperature slider re-softens
 * the cached logits right here (no retraining), so the user sees how T exposes the teacher's "dark knowledge"
 * between similar classes; the epoch scrubber replays how the student's soft labels converged.
 */
import { entropy, softmaxRows } from '../../shared/math';
import type { StudentKind } from '../../shared/records';
import { cellAt, columnLabelRoom, drawColorLegend, drawGroupedBars, drawMatrix, rowAt } from '../charts/canvasCharts';
import { differenceColor, differencePosition, probabilityColor, probabilityPosition } from '../charts/colorScale';
import { studentColor, studentLabel, type TabView, type ViewContext } from '../context';
import { h, setText, sizeCanvas } from '../dom';
import type { LogitMatrix, RunModel, StoreEvent } from '../store';

export const MIN_TEMPERATURE = 0.5;
export const MAX_TEMPERATURE = 20;
const SLIDER_STEPS = 1000;

/** The slider is logarithmic in T: the interesting range (1–5) gets most of its length. */
export const sliderToTemperature = (v: number): number =>
  Math.exp(Math.log(MIN_TEMPERATURE) + (v / SLIDER_STEPS) * (Math.log(MAX_TEMPERATURE) - Math.log(MIN_TEMPERATURE)));
export const temperatureToSlider = (t: number): number =>
  Math.round(((Math.log(t) - Math.log(MIN_TEMPERATURE)) / (Math.log(MAX_TEMPERATURE) - Math.log(MIN_TEMPERATURE))) * SLIDER_STEPS);

/** Mean entropy (nats) of the rows of a row-major probability matrix. */
function meanEntropy(p: Float32Array, classes: number): number {
  const rows = p.length / classes;
  let sum = 0;
  for (let r = 0; r < rows; r++) sum += entropy(p.subarray(r * classes, (r + 1) * classes));
  return rows ? sum / rows : NaN;
}

export class SoftLabelsTab implements TabView {
  readonly element: HTMLElement;
  private readonly studentSelect = h('select#soft-student', { 'aria-label': 'Student' });
  /** A list of teachers: which one the teacher heatmap, the difference, the entropy and the bars show. */
  private readonly teacherSelect = h('select#soft-teacher', { 'aria-label': 'Teacher' });
  private readonly teacherPicker = h('label', { hidden: true }, 'Teacher ', this.teacherSelect);
  private readonly teacherCaption = h('figcaption', {}, 'Teacher p_t at T');
  private readonly epochSlider = h('input#epoch-scrubber', { type: 'range', min: 1, max: 1, step: 1, value: 1, 'aria-label': 'Epoch' });
  private readonly epochLabel = h('output#epoch-label');
  private readonly playButton = h('button.secondary#epoch-play', { type: 'button', title: 'Replay the epochs' }, '▶ Replay');
  private readonly temperatureSlider = h('input#temperature', { type: 'range', min: 0, max: SLIDER_STEPS, step: 1, 'aria-label': 'Temperature' });
  private readonly temperatureLabel = h('output#temperature-label');
  private readonly resetTemperature = h('button.secondary', { type: 'button' }, 'Run’s T');
  private readonly teacherEntropy = h('span#teacher-entropy');
  private readonly studentEntropy = h('span#student-entropy');
  private readonly uniformEntropy = h('span#uniform-entropy');
  private readonly thumbs = h('canvas#heatmap-thumbnails', { 'aria-hidden': 'true' });
  private readonly teacherCanvas = h('canvas#heatmap-teacher', { role: 'img', tabindex: 0 });
  private readonly studentCanvas = h('canvas#heatmap-student', { role: 'img', tabindex: 0 });
  private readonly diffCanvas = h('canvas#heatmap-diff', { role: 'img', tabindex: 0 });
  private readonly probLegend = h('canvas#legend-probability', { 'aria-hidden': 'true' });
  private readonly diffLegend = h('canvas#legend-difference', { 'aria-hidden': 'true' });
  private readonly bars = h('canvas#row-bars', { role: 'img' });
  private readonly barsCaption = h('p#row-caption');
  private readonly tooltip = h('div.tooltip', { role: 'tooltip', hidden: true });
  private readonly body: HTMLElement;
  private readonly placeholder = h('p.placeholder');
  private playTimer: ReturnType<typeof setInterval> | undefined;
  private width: number;
  /** Probabilities at the current T, kept for the tooltip and the bars. */
  private current: { teacher: Float32Array; teacherLabel: string; student?: Float32Array; classes: number; rows: number } | undefined;
  private thumbnailSheet: HTMLCanvasElement | undefined;
  /** Width of the panel beside the heatmaps (bars, legends). */
  private sideWidth = 400;
  private barsHeight = 260;

  constructor(
    private readonly ctx: ViewContext,
    width: number,
  ) {
    this.width = width;
    this.studentSelect.addEventListener('change', () => {
      ctx.setUi({ student: this.studentSelect.value as StudentKind, epoch: undefined });
      this.render();
    });
    this.teacherSelect.addEventListener('change', () => {
      const v = this.teacherSelect.value;
      ctx.setUi({ teacher: v === 'ensemble' ? undefined : Number(v) });
      this.render();
    });
    this.epochSlider.addEventListener('input', () => {
      const epochs = this.epochsOf(this.student);
      const e = Number(this.epochSlider.value);
      // Following the latest epoch (undefined) lets a live run's newest epoch show up by itself.
      ctx.setUi({ epoch: e >= epochs[epochs.length - 1] ? undefined : e });
      this.render();
    });
    this.playButton.addEventListener('click', () => this.togglePlay());
    this.temperatureSlider.addEventListener('input', () => {
      ctx.setUi({ temperature: sliderToTemperature(Number(this.temperatureSlider.value)) });
      this.render();
    });
    this.resetTemperature.addEventListener('click', () => {
      ctx.setUi({ temperature: undefined });
      this.render();
    });
    for (const canvas of [this.thumbs, this.teacherCanvas, this.studentCanvas, this.diffCanvas]) {
      canvas.addEventListener('click', (e) => {
        const row = rowAt(canvas, e);
        if (row !== undefined) this.selectRow(row);
      });
      canvas.addEventListener('mousemove', (e) => this.showTooltip(canvas, e));
      canvas.addEventListener('mouseleave', () => (this.tooltip.hidden = true));
    }

    this.body = h(
      'div.soft-body',
      {},
      h(
        'div.toolbar',
        {},
        this.teacherPicker,
        h('label', {}, 'Student ', this.studentSelect),
        h('label', {}, 'Epoch ', this.epochSlider, ' ', this.epochLabel),
        this.playButton,
        h('label', {}, 'Temperature ', this.temperatureSlider, ' ', this.temperatureLabel),
        this.resetTemperature,
      ),
      h('p.entropy', {}, 'Mean entropy at T — teacher: ', this.teacherEntropy, ' · student: ', this.studentEntropy, ' (uniform: ', this.uniformEntropy, ')'),
      // The heatmaps, and beside them (below them in a narrow view) what a click shows: the row's bars, the
      // legends and the explanation, sized so that all of it fits an ~800 px-high view without scrolling.
      h(
        'div.soft-main',
        {},
        h(
          'div.heatmaps',
          {},
          h('figure.heatmap', {}, h('figcaption', {}, 'Sample'), this.thumbs),
          h('figure.heatmap', {}, this.teacherCaption, this.teacherCanvas),
          h('figure.heatmap', {}, h('figcaption', {}, 'Student p_s at T'), this.studentCanvas),
          h('figure.heatmap', {}, h('figcaption', {}, 'Difference p_s − p_t'), this.diffCanvas),
          this.tooltip,
        ),
        h(
          'aside.soft-side',
          {},
          this.barsCaption,
          this.bars,
          h('div.legends', {}, this.probLegend, this.diffLegend),
          h(
            'p.hint',
            {},
            'Raise T to see how the teacher spreads probability over similar classes: that is what the student learns beyond the label. Click a row, or use ↑/↓, to compare the two distributions.',
          ),
        ),
      ),
    );
    this.element = h('section.tab-soft', {}, this.placeholder, this.body);
    // ↑/↓ move the selected row wherever the focus is while this tab shows, except in a control that uses them.
    document.addEventListener('keydown', this.onKey);
    this.render();
  }

  private readonly onKey = (e: KeyboardEvent): void => {
    if ((e.key !== 'ArrowDown' && e.key !== 'ArrowUp') || e.altKey || e.ctrlKey || e.metaKey || this.body.hidden) return;
    const target = e.target as HTMLElement | null;
    if (target?.closest('input, select, textarea, [contenteditable="true"]')) return;
    e.preventDefault();
    this.selectRow(this.ctx.ui().row + (e.key === 'ArrowDown' ? 1 : -1));
  };

  /** Heatmap cells and the side panel's width: the cells fit the width left beside the panel and the view's height. */
  private geometry(rows: number, classes: number, header: number, labelRight: number): { cell: number; sideWidth: number; beside: boolean } {
    const thumbW = 96;
    const beside = this.width >= 900;
    const sideWidth = beside ? Math.round(Math.min(560, Math.max(340, this.width * 0.36))) : Math.min(this.width - 8, 120 + classes * 64);
    const heatWidth = (beside ? this.width - sideWidth - 24 : this.width) - thumbW - 3 * labelRight - 40;
    // Above the heatmaps: header, tabs, toolbar and entropy line (about 170 px); below them in a narrow view, the side panel (about 330).
    const heightLeft = (window.innerHeight || 800) - 170 - header - (beside ? 0 : 330);
    const cell = Math.max(8, Math.min(28, Math.floor(heatWidth / (3 * classes)), Math.floor(heightLeft / Math.max(1, rows))));
    return { cell, sideWidth, beside };
  }

  private get run(): RunModel | undefined {
    return this.ctx.store.primary;
  }

  private epochsOf(student: StudentKind): number[] {
    return [...(this.run?.studentLogits.get(student)?.keys() ?? [])].sort((a, b) => a - b);
  }

  private get student(): StudentKind {
    const run = this.run;
    const wanted = this.ctx.ui().student;
    if (run?.studentLogits.has(wanted)) return wanted;
    return run?.studentLogits.has('kd') || !run?.studentLogits.size ? 'kd' : 'baseline';
  }

  /** The teacher shown: the run's (an ensemble's combined logits), or the member the picker chose. */
  private teacherShown(run: RunModel): { logits: LogitMatrix; label: string; title?: string; member?: number } | undefined {
    const ensemble = run.teacherLogits;
    if (!ensemble) return undefined;
    const index = this.ctx.ui().teacher;
    const member = index === undefined ? undefined : run.teacherMembers[index];
    if (member && member.logits.rows === ensemble.rows && member.logits.classes === ensemble.classes)
      return { logits: member.logits, label: member.label, title: member.name, member: index };
    return { logits: ensemble, label: run.teacherMembers.length ? 'Ensemble' : 'Teacher' };
  }

  private get temperature(): number {
    return this.ctx.ui().temperature ?? this.run?.temperature ?? 4;
  }

  render(): void {
    const run = this.run;
    const shown = run && this.teacherShown(run);
    const teacher = shown?.logits;
    if (!run || !shown || !teacher || !teacher.rows) {
      this.body.hidden = true;
      this.placeholder.hidden = false;
      this.placeholder.textContent = 'Soft labels appear once the engine has written the probe set’s teacher logits (softlabels.jsonl).';
      return;
    }
    this.body.hidden = false;
    this.placeholder.hidden = true;
    const theme = this.ctx.theme();
    const T = this.temperature;
    const classes = teacher.classes;
    const classNames = run.classNames;

    // Controls reflect the state.
    // The options are rebuilt only when the students change: rebuilding them would close an open list.
    const students = (['kd', 'baseline'] as const).filter((s) => run.studentLogits.has(s));
    if ([...this.studentSelect.options].map((o) => o.value).join() !== students.join()) {
      this.studentSelect.replaceChildren(...students.map((s) => h('option', { value: s }, studentLabel(s))));
    }
    if (students.length && this.studentSelect.value !== this.student) this.studentSelect.value = this.student;
    this.studentSelect.disabled = students.length < 2;
    // A list of teachers: the ensemble, then each member as the report names it (the picker is absent for one).
    const members = run.teacherMembers.flatMap((m, i) => (m ? [{ value: String(i), label: m.label, title: m.name }] : []));
    const teacherOptions = members.length
      ? [{ value: 'ensemble', label: 'Ensemble', title: 'The teachers combined, as the students learn from them' }, ...members]
      : [];
    if ([...this.teacherSelect.options].map((o) => o.value).join() !== teacherOptions.map((o) => o.value).join()) {
      this.teacherSelect.replaceChildren(...teacherOptions.map((o) => h('option', { value: o.value, title: o.title }, o.label)));
    }
    this.teacherPicker.hidden = !members.length;
    const teacherValue = shown.member === undefined ? 'ensemble' : String(shown.member);
    if (members.length && this.teacherSelect.value !== teacherValue) this.teacherSelect.value = teacherValue;
    setText(this.teacherCaption, `${shown.label} p_t at T`);
    this.teacherCaption.title = shown.title ?? '';
    const epochs = this.epochsOf(this.student);
    const wantedEpoch = this.ctx.ui().epoch;
    const epoch = epochs.length ? (wantedEpoch !== undefined && epochs.includes(wantedEpoch) ? wantedEpoch : epochs[epochs.length - 1]) : undefined;
    this.epochSlider.min = String(epochs[0] ?? 1);
    this.epochSlider.max = String(epochs[epochs.length - 1] ?? 1);
    this.epochSlider.value = String(epoch ?? 1);
    this.epochSlider.disabled = epochs.length < 2;
    this.playButton.disabled = epochs.length < 2;
    setText(this.epochLabel, epoch === undefined ? 'no epoch yet' : `${epoch} of ${epochs[epochs.length - 1]}`);
    this.temperatureSlider.value = String(temperatureToSlider(T));
    setText(this.temperatureLabel, `T = ${T.toFixed(2)}`);
    setText(this.resetTemperature, `Run’s T (${run.temperature.toFixed(2)})`);

    // Probabilities at T, re-softened from the cached logits.
    const pt = softmaxRows(teacher.flat, classes, T);
    const studentLogits: LogitMatrix | undefined = epoch !== undefined ? run.studentLogits.get(this.student)?.get(epoch) : undefined;
    const ps =
      studentLogits && studentLogits.classes === classes && studentLogits.rows === teacher.rows ? softmaxRows(studentLogits.flat, classes, T) : undefined;
    this.current = { teacher: pt, teacherLabel: shown.member === undefined ? 'teacher' : shown.label, student: ps, classes, rows: teacher.rows };
    const hMax = Math.log(classes);
    setText(this.teacherEntropy, `${meanEntropy(pt, classes).toFixed(3)} nats`);
    this.teacherEntropy.dataset.value = String(meanEntropy(pt, classes));
    setText(this.studentEntropy, ps ? `${meanEntropy(ps, classes).toFixed(3)} nats` : '—');
    this.studentEntropy.dataset.value = ps ? String(meanEntropy(ps, classes)) : '';
    setText(this.uniformEntropy, `ln ${classes} = ${hMax.toFixed(3)} nats`);

    // Geometry: three heatmaps and the thumbnail column share the width beside the side panel; the header holds
    // the longest class name ("Ankle boot") whole.
    const rows = teacher.rows;
    const room = columnLabelRoom(theme, classNames.slice(0, classes));
    const header = Math.max(40, room.header);
    const { cell, sideWidth, beside } = this.geometry(rows, classes, header, room.right);
    this.sideWidth = sideWidth;
    this.barsHeight = beside ? 260 : 200;
    const side = this.body.querySelector<HTMLElement>('.soft-side');
    if (side) side.style.width = `${sideWidth}px`;
    const selected = Math.min(Math.max(0, this.ctx.ui().row), rows - 1);
    const common = { rows, cols: classes, cell, header, colLabels: classNames, selectedRow: selected };
    drawMatrix(this.teacherCanvas, theme, { ...common, color: (r, c) => probabilityColor(theme.heat, pt[r * classes + c]) });
    if (ps) {
      drawMatrix(this.studentCanvas, theme, { ...common, color: (r, c) => probabilityColor(theme.heat, ps[r * classes + c]) });
      drawMatrix(this.diffCanvas, theme, { ...common, color: (r, c) => differenceColor(theme.heat, ps[r * classes + c] - pt[r * classes + c]) });
    } else {
      for (const c of [this.studentCanvas, this.diffCanvas]) drawMatrix(c, theme, { ...common, rows: 0, color: () => theme.heat.zero, selectedRow: undefined });
    }
    this.teacherCanvas.setAttribute('aria-label', `${shown.label} probabilities at T = ${T.toFixed(2)} for ${rows} probe samples`);
    this.drawThumbnails(cell, header, rows, selected);

    const legendW = Math.min(320, Math.max(160, Math.floor((sideWidth - 24) / 2)));
    const ticks = [0, 0.01, 0.1, 0.25, 0.5, 1].map((p) => ({ at: probabilityPosition(p), text: String(p) }));
    drawColorLegend(this.probLegend, theme, { width: legendW, label: 'probability (√ scale)', ticks, color: (t) => probabilityColor(theme.heat, t * t) });
    const root = theme.heat.differenceRoot ?? 2;
    drawColorLegend(this.diffLegend, theme, {
      width: legendW,
      label: `p_s − p_t (${root === 2 ? '√' : `${root}th-root`} scale)`,
      ticks: [-1, -0.25, 0, 0.25, 1].map((d) => ({ at: (Math.sign(d) * differencePosition(theme.heat, Math.abs(d)) + 1) / 2, text: String(d) })),
      color: (t) => {
        const s = t * 2 - 1;
        return differenceColor(theme.heat, Math.sign(s) * Math.pow(Math.abs(s), root));
      },
    });
    this.drawBars(selected);
  }

  /** The thumbnails column: each probe sample's picture and true label, on the heatmap rows. */
  private drawThumbnails(cell: number, header: number, rows: number, selected: number): void {
    const run = this.run!;
    const theme = this.ctx.theme();
    const width = 96;
    const ctx = sizeCanvas(this.thumbs, width, header + rows * cell + 2);
    ctx.clearRect(0, 0, width, header + rows * cell + 2);
    Object.assign(this.thumbs.dataset, { left: '0', top: String(header), cell: String(cell), rows: String(rows), cols: '1' });
    const sheet = this.thumbnailSheetFor(run);
    const t = run.probe?.thumbnails;
    ctx.imageSmoothingEnabled = false;
    ctx.font = `${Math.round(theme.fontSize * 0.8)}px ${theme.fontFamily}`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (let r = 0; r < rows; r++) {
      const y = header + r * cell;
      if (sheet && t) ctx.drawImage(sheet, 0, r * t.height, t.width, t.height, width - cell, y, cell, cell);
      const label = run.probe?.labels[r];
      ctx.fillStyle = r === selected ? theme.accent : theme.muted;
      if (label !== undefined) ctx.fillText(run.classNames[label] ?? String(label), width - cell - 4, y + cell / 2, width - cell - 6);
    }
  }

  /** All thumbnails stacked in one canvas, decoded once from probe.json's base64 pixels. */
  private thumbnailSheetFor(run: RunModel): HTMLCanvasElement | undefined {
    const t = run.probe?.thumbnails;
    if (!t || !t.pixels.length) return undefined;
    if (this.thumbnailSheet?.dataset.run === run.runId) return this.thumbnailSheet;
    const sheet = document.createElement('canvas');
    sheet.width = t.width;
    sheet.height = t.height * t.pixels.length;
    const ctx = sheet.getContext('2d')!;
    const image = ctx.createImageData(t.width, t.height);
    t.pixels.forEach((b64, i) => {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      for (let p = 0; p < t.width * t.height; p++) {
        const grey = t.channels === 1;
        image.data[p * 4] = bytes[grey ? p : p * t.channels];
        image.data[p * 4 + 1] = bytes[grey ? p : p * t.channels + 1];
        image.data[p * 4 + 2] = bytes[grey ? p : p * t.channels + 2];
        image.data[p * 4 + 3] = 255;
      }
      ctx.putImageData(image, 0, i * t.height);
    });
    sheet.dataset.run = run.runId;
    this.thumbnailSheet = sheet;
    return sheet;
  }

  private drawBars(row: number): void {
    const run = this.run!;
    const cur = this.current;
    if (!cur) return;
    const theme = this.ctx.theme();
    const { classes } = cur;
    const teacherRow = cur.teacher.subarray(row * classes, (row + 1) * classes);
    const studentRow = cur.student?.subarray(row * classes, (row + 1) * classes);
    const label = run.probe?.labels[row];
    const truth = label !== undefined ? ` · true class: ${run.classNames[label] ?? label}` : '';
    const hs = studentRow ? `, student ${entropy(studentRow).toFixed(3)}` : '';
    const caption = `Probe row ${row + 1}${truth} · entropy at T = ${this.temperature.toFixed(2)}: ${cur.teacherLabel} ${entropy(teacherRow).toFixed(3)}${hs} nats`;
    setText(this.barsCaption, caption);
    const groups = [{ label: `${cur.teacherLabel} p_t`, color: theme.palette[2], values: teacherRow }];
    if (studentRow) groups.push({ label: `${studentLabel(this.student)} student p_s`, color: studentColor(this.ctx, this.student), values: studentRow });
    drawGroupedBars(this.bars, theme, { width: this.sideWidth, height: this.barsHeight, categories: run.classNames, groups, yMax: 1, percent: true });
    this.bars.setAttribute('aria-label', caption);
  }

  private selectRow(row: number): void {
    const rows = this.current?.rows ?? 0;
    if (!rows) return;
    this.ctx.setUi({ row: Math.min(rows - 1, Math.max(0, row)) });
    this.render();
  }

  private showTooltip(canvas: HTMLCanvasElement, e: MouseEvent): void {
    const cur = this.current;
    const cell = canvas === this.thumbs ? undefined : cellAt(canvas, e);
    if (!cur || !cell) {
      this.tooltip.hidden = true;
      return;
    }
    const k = cell.row * cur.classes + cell.col;
    const name = this.run?.classNames[cell.col] ?? String(cell.col);
    const pt = cur.teacher[k];
    const ps = cur.student?.[k];
    const parts = [`row ${cell.row + 1}, ${name}`, `p_t = ${pt.toFixed(4)}`];
    if (ps !== undefined) parts.push(`p_s = ${ps.toFixed(4)}`, `p_s − p_t = ${(ps - pt).toFixed(4)}`);
    this.tooltip.textContent = parts.join(' · ');
    this.tooltip.hidden = false;
    const host = this.tooltip.parentElement!.getBoundingClientRect();
    this.tooltip.style.left = `${e.clientX - host.left + 12}px`;
    this.tooltip.style.top = `${e.clientY - host.top + 12}px`;
  }

  private togglePlay(): void {
    if (this.playTimer) {
      this.stopPlay();
      return;
    }
    const epochs = this.epochsOf(this.student);
    if (epochs.length < 2) return;
    let i = 0;
    this.playButton.textContent = '■ Stop';
    this.ctx.setUi({ epoch: epochs[0] });
    this.render();
    this.playTimer = setInterval(() => {
      i++;
      if (i >= epochs.length) {
        this.stopPlay();
        return;
      }
      this.ctx.setUi({ epoch: i === epochs.length - 1 ? undefined : epochs[i] });
      this.render();
    }, 700);
  }

  private stopPlay(): void {
    if (this.playTimer) clearInterval(this.playTimer);
    this.playTimer = undefined;
    this.playButton.textContent = '▶ Replay';
  }

  update(event: StoreEvent): void {
    if (event.kind === 'runs') return;
    if (event.kind === 'delta') {
      const changes = this.run && event.changes.get(this.run);
      if (!changes || !(changes.softLabels || changes.meta || changes.reset)) return;
    }
    if (event.kind === 'snapshot' || (event.kind === 'delta' && [...event.changes.values()].some((c) => c.meta || c.reset))) this.thumbnailSheet = undefined;
    this.render();
  }

  resize(width: number): void {
    if (Math.abs(width - this.width) < 4) return;
    this.width = width;
    this.render();
  }

  destroy(): void {
    document.removeEventListener('keydown', this.onKey);
    this.stopPlay();
    this.element.remove();
  }
}
