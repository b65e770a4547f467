// The Sweep view's logic in plain Node: axis bins (grid values, random ranges in linear and log space), the heatmap
// over two axes faceted by a third (mean ± std over repeats, the cell's scratch baseline and Δ), the colour tone
// relative to the baseline, and the sorting of the trials table.
import { strict as assert } from 'node:assert';
import type { SweepAxis, SweepData, SweepTrialRow } from '../../src/shared/sweepProtocol';
import { axisBins, buildHeatmap, cellTone, chooseAxes, formatObjective, formatValue, sortTrials, stats, sweepCounts } from '../../src/shared/sweepView';

const T = 'distillation.temperature';
const A = 'distillation.alpha';
const S = 'student';

/** A 2 × 2 × 2 grid (T × α × student) with 2 repeats; the objective is written out per trial below. */
function gridSweep(
  objectives: Record<string, number | undefined>,
  statuses: Record<string, SweepTrialRow['status']> = {},
): Pick<SweepData, 'axes' | 'trials' | 'objective'> {
  const axes: SweepAxis[] = [
    { path: T, kind: 'values', values: [2, 4] },
    { path: A, kind: 'values', values: [0.5, 0.9] },
    { path: S, kind: 'values', values: [{ preset: 'mlp', hidden: [32] }, { preset: 'cnn-small' }] },
  ];
  const trials: SweepTrialRow[] = [];
  // One baseline per (student, repeat): b00/b01 for mlp, b02/b03 for cnn.
  const baselines: Record<string, number> = { b00: 0.8, b01: 0.82, b02: 0.85, b03: 0.85 };
  for (const [id, v] of Object.entries(baselines)) {
    const student = id === 'b00' || id === 'b01' ? axes[2].kind === 'values' && axes[2].values[0] : axes[2].kind === 'values' && axes[2].values[1];
    trials.push({
      id,
      kind: 'baseline',
      point: -1,
      repeat: Number(id.at(-1)) % 2,
      seed: 1,
      params: { [S]: student },
      runDir: `/s/trials/${id}`,
      status: 'completed',
      objective: v,
    });
  }
  let point = 0;
  for (const t of [2, 4])
    for (const a of [0.5, 0.9])
      for (const [si, s] of [{ preset: 'mlp', hidden: [32] }, { preset: 'cnn-small' }].entries()) {
        for (const r of [0, 1]) {
          const id = `p${String(point).padStart(2, '0')}-r${r}`;
          const objective = objectives[id];
          trials.push({
            id,
            kind: 'trial',
            point,
            repeat: r,
            seed: 1 + r,
            params: { [T]: t, [A]: a, [S]: s },
            runDir: `/s/trials/${id}`,
            status: statuses[id] ?? (objective === undefined ? 'pending' : 'completed'),
            objective,
            baseline: `b0${si * 2 + r}`,
          });
        }
        point++;
      }
  return { axes, trials, objective: { metric: 'student.accuracy', goal: 'max' } };
}

describe('Sweep view: axis bins', () => {
  it('keeps a grid axis in the file’s order and finds values by content', () => {
    const b = axisBins({ path: S, kind: 'values', values: [{ preset: 'mlp', hidden: [32] }, { preset: 'cnn-small' }] }, []);
    assert.deepEqual(b.labels, ['mlp [32]', 'cnn-small']);
    assert.equal(b.index({ preset: 'cnn-small' }), 1);
    assert.equal(b.index({ preset: 'other' }), -1);
  });

  it('shows up to 8 distinct random values one by one, sorted', () => {
    const b = axisBins({ path: T, kind: 'range', min: 1, max: 20, log: true, integer: false }, [8.1, 1.5, 3, 8.1]);
    assert.deepEqual(b.labels, ['1.5', '3', '8.1']);
    assert.equal(b.index(8.1), 2);
  });

  it('bins more random values in equal widths of log space for a log-uniform axis', () => {
    const values = [1, 1.2, 1.9, 2.1, 3, 5, 7, 9, 15, 16];
    const b = axisBins({ path: T, kind: 'range', min: 1, max: 16, log: true, integer: false }, values, 4);
    // log2 edges 0,1,2,3,4: [1,2) [2,4) [4,8) [8,16], the last one including 16.
    assert.deepEqual(b.labels, ['1–2', '2–4', '4–8', '8–16']);
    assert.deepEqual(
      values.map((v) => b.index(v)),
      [0, 0, 0, 1, 1, 2, 2, 3, 3, 3],
    );
  });

  it('bins a uniform axis linearly', () => {
    const values = Array.from({ length: 10 }, (_, i) => i / 10);
    const b = axisBins({ path: A, kind: 'range', min: 0, max: 1, log: false, integer: false }, values, 2);
    assert.deepEqual(b.labels, ['0–0.5', '0.5–1']);
    // 0.5 sits on the edge and opens the upper bin.
    assert.deepEqual(
      values.map((v) => b.index(v)),
      [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
    );
  });
});

describe('Sweep view: heatmap', () => {
  // Points enumerate T, then α, then student: p00 = (2, 0.5, mlp), p01 = (2, 0.5, cnn), p02 = (2, 0.9, mlp), …
  const objectives = { 'p00-r0': 0.84, 'p00-r1': 0.86, 'p02-r0': 0.9, 'p03-r0': 0.8, 'p07-r0': 0.88, 'p07-r1': 0.9 };

  it('puts T on x and α on y, one facet per student, mean ± std over repeats and the cell’s own baseline', () => {
    const map = buildHeatmap(gridSweep(objectives), T, A);
    assert.deepEqual(map.x.labels, ['2', '4']);
    assert.deepEqual(map.y!.labels, ['0.5', '0.9']);
    assert.deepEqual(
      map.facets.map((f) => f.label),
      ['student = mlp [32]', 'student = cnn-small'],
    );
    const [mlp, cnn] = map.facets;
    // Point 0 (T 2, α 0.5, mlp): repeats 0.84 and 0.86 → mean 0.85, sample std √((0.01² + 0.01²) / 1) = 0.01414.
    const c = mlp.cells[0][0];
    assert.deepEqual(c.trials, ['p00-r0', 'p00-r1']);
    assert.ok(Math.abs(c.value!.mean - 0.85) < 1e-12);
    assert.ok(Math.abs(c.value!.std - Math.SQRT2 * 0.01) < 1e-12);
    assert.equal(c.value!.n, 2);
    // Its baselines are mlp's b00 (0.80) and b01 (0.82): 0.81; Δ = 0.04.
    assert.ok(Math.abs(c.baseline!.mean - 0.81) < 1e-12);
    assert.ok(Math.abs(c.delta! - 0.04) < 1e-12);
    assert.equal(c.open, 'p00-r1', 'the cell opens its best repeat');
    // p02 (T 2, α 0.9, mlp): one repeat, 0.90 against its own baseline b00 (0.80): Δ 0.10.
    assert.ok(Math.abs(mlp.cells[1][0].delta! - 0.1) < 1e-12);
    assert.ok(Math.abs(mlp.cells[1][0].baseline!.mean - 0.8) < 1e-12);
    // p03 (T 2, α 0.9, cnn): one repeat of 0.80 against cnn's 0.85 → Δ −0.05; p07 (T 4, α 0.9, cnn) mean 0.89.
    assert.equal(cnn.cells[1][0].value!.n, 1);
    assert.ok(Math.abs(cnn.cells[1][0].delta! + 0.05) < 1e-12);
    assert.ok(Math.abs(cnn.cells[1][1].value!.mean - 0.89) < 1e-12);
    // Cells with no finished trial have no value, and say how many trials they hold.
    assert.equal(cnn.cells[0][0].value, undefined);
    assert.equal(cnn.cells[0][0].trials.length, 2);
    assert.deepEqual(map.range, { min: 0.8, max: 0.9 });
    assert.ok(Math.abs(map.maxDelta - 0.1) < 1e-12, 'p02 (0.90 vs 0.80) is the largest |Δ|');
    // Two distinct baseline values per student: the legend says they differ.
    assert.equal(map.baselineCount, 3);
  });

  it('one row: x alone, faceted by the other axes; with one axis, one facet aggregating the repeats', () => {
    const map = buildHeatmap(gridSweep(objectives), S, undefined);
    assert.equal(map.y, undefined);
    assert.deepEqual(map.facetAxes, [T, A]);
    assert.deepEqual(
      map.facets.map((f) => f.label),
      [`${T} = 2 · ${A} = 0.5`, `${T} = 2 · ${A} = 0.9`, `${T} = 4 · ${A} = 0.5`, `${T} = 4 · ${A} = 0.9`],
    );
    const one = buildHeatmap({ ...gridSweep(objectives), axes: gridSweep(objectives).axes.filter((a) => a.path === S) }, S);
    assert.equal(one.facets.length, 1);
    assert.equal(one.facets[0].label, '');
    // mlp: 0.84, 0.86, 0.90 (p00 ×2, p02); cnn: 0.80, 0.88, 0.90 (p03, p07 ×2).
    assert.equal(one.facets[0].cells[0][0].value!.n, 3);
    assert.ok(Math.abs(one.facets[0].cells[0][1].value!.mean - (0.8 + 0.88 + 0.9) / 3) < 1e-12);
  });

  it('counts running and failed trials of a cell, and opens a running one before anything is done', () => {
    const map = buildHeatmap(gridSweep({}, { 'p02-r0': 'running', 'p02-r1': 'failed' }), T, A);
    const c = map.facets[0].cells[1][0];
    assert.deepEqual([c.running, c.failed, c.completed], [1, 1, 0]);
    assert.equal(c.open, 'p02-r0');
    assert.equal(map.range, undefined);
  });

  it('colours relative to the baseline: better positive, worse negative, scaled by the largest |Δ|; min goals flip', () => {
    const map = buildHeatmap(gridSweep(objectives), T, A);
    const [mlp, cnn] = map.facets;
    assert.ok(Math.abs(cellTone(mlp.cells[1][0], map, 'max')! - 1) < 1e-12, 'p02: Δ +0.10 is the end of the scale');
    assert.ok(Math.abs(cellTone(mlp.cells[0][0], map, 'max')! - 0.4) < 1e-12);
    assert.ok(Math.abs(cellTone(cnn.cells[1][0], map, 'max')! + 0.5) < 1e-12);
    assert.ok(Math.abs(cellTone(cnn.cells[1][0], map, 'min')! - 0.5) < 1e-12);
    assert.equal(cellTone(cnn.cells[0][0], map, 'max'), undefined);
  });

  it('without baselines, tones by the objective between the worst and the best cell', () => {
    const data = gridSweep(objectives);
    data.trials = data.trials.filter((t) => t.kind === 'trial').map((t) => ({ ...t, baseline: undefined }));
    const map = buildHeatmap(data, T, A);
    assert.equal(map.baseline, undefined);
    const [mlp, cnn] = map.facets;
    assert.equal(cellTone(cnn.cells[1][0], map, 'max'), 0, 'the worst (0.80)');
    assert.equal(cellTone(mlp.cells[1][0], map, 'max'), 1, 'the best (0.90)');
    assert.equal(cellTone(mlp.cells[1][0], map, 'min'), 0);
  });

  it('picks the first two axes unless told, and never the same one twice', () => {
    const axes = gridSweep({}).axes;
    assert.deepEqual(chooseAxes(axes), { x: T, y: A });
    assert.deepEqual(chooseAxes(axes, A, A), { x: A, y: T });
    assert.deepEqual(chooseAxes(axes, S, null), { x: S });
    assert.deepEqual(chooseAxes(axes, 'nope', S), { x: T, y: S });
  });
});

describe('Sweep view: table and numbers', () => {
  const data = gridSweep({ 'p00-r0': 0.83, 'p00-r1': 0.86, 'p01-r0': 0.9 }, { 'p01-r1': 'running', 'p02-r0': 'failed' });

  it('sorts by objective either way with unfinished trials last, ties by id', () => {
    const asc = sortTrials(data.trials, 'objective', false).map((t) => t.id);
    assert.deepEqual(asc.slice(0, 7), ['b00', 'b01', 'p00-r0', 'b02', 'b03', 'p00-r1', 'p01-r0']);
    const desc = sortTrials(data.trials, 'objective', true).map((t) => t.id);
    assert.deepEqual(desc.slice(0, 3), ['p01-r0', 'p00-r1', 'b02']);
    assert.equal(desc.at(-1), 'p07-r1');
  });

  it('sorts by Δ vs scratch, by status (running and failed first) and by an axis', () => {
    // p00-r0: 0.83 − b00 0.80 = +0.03; p00-r1: 0.86 − b01 0.82 = +0.04; p01-r0 (cnn): 0.90 − b02 0.85 = +0.05.
    assert.deepEqual(
      sortTrials(data.trials, 'delta', true)
        .slice(0, 3)
        .map((t) => t.id),
      ['p01-r0', 'p00-r1', 'p00-r0'],
    );
    assert.deepEqual(
      sortTrials(data.trials, 'status', false)
        .slice(0, 2)
        .map((t) => t.id),
      ['p01-r1', 'p02-r0'],
    );
    const byT = sortTrials(
      data.trials.filter((t) => t.kind === 'trial'),
      `axis:${T}`,
      true,
    );
    assert.ok(byT.slice(0, 8).every((t) => t.params[T] === 4));
    const byStudent = sortTrials(
      data.trials.filter((t) => t.kind === 'trial'),
      `axis:${S}`,
      false,
    );
    assert.equal(formatValue(byStudent[0].params[S]), 'cnn-small');
  });

  it('formats accuracies as percentages and Δ in points; other metrics as numbers', () => {
    assert.equal(formatObjective(0.8612, 'student.accuracy'), '86.12%');
    assert.equal(formatObjective(0.0123, 'student.accuracy', true), '+1.23 pt');
    assert.equal(formatObjective(0.123456, 'student.klToTeacher'), '0.1235');
    assert.deepEqual(stats([1, 3]), { mean: 2, std: Math.SQRT2, n: 2 });
    assert.deepEqual(sweepCounts(data.trials), { done: 8, running: 1, failed: 1, total: 20 });
  });
});
