/**
 * The Compare tab's run picker, as in TensorBoard: every run of the runs folder in a list with a checkbox (checked:
 * in the comparison, with its colour), a filter box (a regular expression, or plain text when it is not one), and a
 * count. Rows are kept and patched by run, so a live run's status change neither drops the focus nor a half-typed
 * filter.
 */
import type { RunStatus } from '../shared/records';
import { h, setAttr, setText } from './dom';

export interface PickerRun {
  runDir: string;
  runId: string;
  /** What people call the run (its runName), if not the id. */
  name?: string;
  status: RunStatus;
  startedAt?: string;
}

/** The runs whose name, id or status matches `query`: a case-insensitive regular expression, else plain text. */
export function filterRuns<T extends PickerRun>(runs: readonly T[], query: string): T[] {
  const q = query.trim();
  if (!q) return [...runs];
  let test: (s: string) => boolean;
  try {
    const re = new RegExp(q, 'i');
    test = (s) => re.test(s);
  } catch {
    const lower = q.toLowerCase();
    test = (s) => s.toLowerCase().includes(lower);
  }
  return runs.filter((r) => test(r.name ?? '') || test(r.runId) || test(r.status));
}

interface Row {
  element: HTMLLIElement;
  box: HTMLInputElement;
  swatch: HTMLElement;
  name: HTMLElement;
  status: HTMLElement;
  date: HTMLElement;
}

export class RunPicker {
  readonly element: HTMLElement;
  private readonly filter = h('input#run-filter', {
    type: 'search',
    placeholder: 'Filter runs (regex)',
    'aria-label': 'Filter runs by name, id or status (a regular expression)',
    spellcheck: 'false',
  });
  private readonly count = h('span.run-count', { 'aria-live': 'polite' });
  private readonly list = h('ul#run-list', { 'aria-label': 'Runs to compare' });
  private readonly rows = new Map<string, Row>();
  private runs: PickerRun[] = [];
  private shown = new Map<string, string>();
  private primary = '';
  /** Runs whose add (true) or remove (false) is under way: their box shows the wish, disabled, until the reply. */
  private readonly pending = new Map<string, boolean>();

  constructor(private readonly handlers: { toggle(runDir: string, on: boolean): Promise<void>; refresh(): void }) {
    this.filter.addEventListener('input', () => this.patch());
    // Runs come and go (a new one may have started): ask the host again when the user turns to the picker.
    this.filter.addEventListener('focus', () => handlers.refresh());
    this.element = h('div.run-picker', {}, h('div.run-picker-bar', {}, this.filter, this.count), this.list);
  }

  /**
   * The runs to list (the folder's, newest first, plus any compared run from elsewhere), those compared with their
   * colours, and the dashboard's own run, which cannot be unchecked.
   */
  update(runs: readonly PickerRun[], shown: ReadonlyMap<string, string>, primary: string): void {
    const listed = new Set(runs.map((r) => r.runDir));
    this.runs = [...runs];
    this.shown = new Map(shown);
    this.primary = primary;
    for (const dir of shown.keys()) if (!listed.has(dir)) this.runs.push({ runDir: dir, runId: dir.split(/[\\/]/).pop() ?? dir, status: 'completed' });
    this.patch();
  }

  /** Overrides a listed run's name and status with the live ones (the listing is only as fresh as its last request). */
  setLive(runDir: string, live: Pick<PickerRun, 'name' | 'status'>): void {
    const run = this.runs.find((r) => r.runDir === runDir);
    if (run && (run.status !== live.status || (live.name && run.name !== live.name))) {
      Object.assign(run, { status: live.status, ...(live.name ? { name: live.name } : {}) });
      this.patch();
    }
  }

  private patch(): void {
    const visible = new Set(filterRuns(this.runs, this.filter.value).map((r) => r.runDir));
    const order: HTMLElement[] = [];
    for (const run of this.runs) {
      const row = this.rows.get(run.runDir) ?? this.makeRow(run.runDir);
      const color = this.shown.get(run.runDir);
      row.box.checked = this.pending.get(run.runDir) ?? color !== undefined;
      row.box.disabled = run.runDir === this.primary || this.pending.has(run.runDir);
      setAttr(row.box, 'title', run.runDir === this.primary ? 'The dashboard’s own run: always shown' : undefined);
      row.swatch.style.background = color ?? 'transparent';
      setText(row.name, run.name ?? run.runId);
      setAttr(row.name, 'title', run.runId);
      setText(row.status, run.status);
      setAttr(row.status, 'class', `status status-${run.status}`);
      setText(row.date, run.startedAt ? run.startedAt.slice(0, 16).replace('T', ' ') : '');
      row.element.hidden = !visible.has(run.runDir);
      setAttr(row.element, 'data-checked', String(color !== undefined));
      order.push(row.element);
    }
    for (const [dir, row] of this.rows) {
      if (this.runs.some((r) => r.runDir === dir)) continue;
      row.element.remove();
      this.rows.delete(dir);
    }
    // Moves only rows out of place: re-appending the focused checkbox's row would drop its focus.
    order.forEach((el, i) => {
      if (this.list.children[i] !== el) this.list.insertBefore(el, this.list.children[i] ?? null);
    });
    const compared = this.runs.filter((r) => this.shown.has(r.runDir)).length;
    setText(this.count, `${visible.size} of ${this.runs.length} runs listed · ${compared} compared`);
  }

  private makeRow(runDir: string): Row {
    const box = h('input', { type: 'checkbox' });
    const swatch = h('span.swatch', { 'aria-hidden': 'true' });
    const name = h('span.run-name');
    const status = h('span.status');
    const date = h('span.run-date');
    const element = h('li.run-row', { 'data-run-dir': runDir }, h('label', {}, box, swatch, name, status, date));
    box.addEventListener('change', () => {
      const on = box.checked;
      this.pending.set(runDir, on);
      this.patch();
      void this.handlers.toggle(runDir, on).finally(() => {
        this.pending.delete(runDir);
        this.patch();
      });
    });
    const row = { element, box, swatch, name, status, date };
    this.rows.set(runDir, row);
    return row;
  }
}
