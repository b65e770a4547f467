/**
 * The teacher ensemble's combination (teachers/ensemble.ts) against a float64 reference written out naively here,
 * and the config of a list of teachers: validation, defaults, paths.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { combineTeacherLogits } from '../../src/engine/teachers/ensemble';
import { teacherList } from '../../src/shared/config';
import { diagnoseConfigText, referencedFiles } from '../../src/shared/configDiagnostics';
import { resolveConfigPaths } from '../../src/shared/configFile';
import { createRng } from '../../src/shared/random';
import { validateConfig } from '../../src/shared/validate';

/** Naive float64 softmax(z / T) of one row: fine for the moderate logits used here (|z / T| ≤ 40). */
const softmax = (z: number[], T: number) => {
  const e = z.map((v) => Math.exp(v / T));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const rowOf = (a: Float32Array, r: number, C: number) => Array.from(a.subarray(r * C, (r + 1) * C));

function randomLogits(rng: () => number, rows: number, classes: number, scale: number): Float32Array {
  return Float32Array.from({ length: rows * classes }, () => (rng() * 2 - 1) * scale);
}

describe('teacher ensemble: combining the teachers\u2019 logits', () => {
  const rng = createRng(16);
  const C = 10;
  const rows = 64;
  const teachers = [randomLogits(rng, rows, C, 8), randomLogits(rng, rows, C, 12), randomLogits(rng, rows, C, 4)];
  const weights = [1, 3, 0.5];
  const W = weights.reduce((a, b) => a + b, 0);

  it('logits: the weighted mean of the logits, within float32 rounding of the float64 mean', () => {
    const out = combineTeacherLogits(teachers, weights, C, 'logits', 4);
    for (let j = 0; j < rows * C; j++) {
      const ref = teachers.reduce((s, t, i) => s + (weights[i] / W) * t[j], 0);
      // One rounding to float32 at the end: |error| ≤ 2^-24·|ref|; float64 summation in another order adds ~1e-15.
      assert.ok(Math.abs(out[j] - ref) <= Math.abs(ref) * 2 ** -24 + 1e-12, `${j}: ${out[j]} vs ${ref}`);
    }
  });

  it('probabilities: softmax(z / T) of the result is the weighted mean of softmax(z_i / T), at the run\u2019s T', () => {
    for (const T of [1, 4, 10]) {
      const out = combineTeacherLogits(teachers, weights, C, 'probabilities', T);
      for (let r = 0; r < rows; r++) {
        const ps = teachers.map((t) => softmax(rowOf(t, r, C), T));
        const mean = Array.from({ length: C }, (_, c) => ps.reduce((s, p, i) => s + (weights[i] / W) * p[c], 0));
        const got = softmax(rowOf(out, r, C), T);
        const zMax = Math.max(...rowOf(out, r, C).map(Math.abs));
        // out = T·log p̄ rounded to float32: each z/T is off by ≤ 2^-24·|z|/T, so each probability by a relative
        // ≤ 2·2^-24·max|z|/T (its own logit and the normaliser); plus 1e-15 for float64 noise.
        for (let c = 0; c < C; c++) {
          const tol = 2 * 2 ** -24 * (zMax / T) * mean[c] + 1e-15;
          assert.ok(Math.abs(got[c] - mean[c]) <= tol, `T ${T}, row ${r}, class ${c}: ${got[c]} vs ${mean[c]} (tol ${tol})`);
        }
        // And the logits are T·log p̄ themselves (not log p̄, which the KD kernels would soften again).
        for (let c = 0; c < C; c++) assert.ok(Math.abs(out[r * C + c] - T * Math.log(mean[c])) <= Math.abs(T * Math.log(mean[c])) * 2 ** -23 + 1e-9);
      }
    }
  });

  it('weights are relative: [1, 3, 0.5] and their normalised values give the same logits, bit for bit', () => {
    for (const mode of ['logits', 'probabilities'] as const) {
      const a = combineTeacherLogits(teachers, weights, C, mode, 4);
      const b = combineTeacherLogits(
        teachers,
        weights.map((w) => w / W),
        C,
        mode,
        4,
      );
      // Normalising twice can change w_i by one ulp, and so the float64 result by ~1e-16 relative: far below float32's.
      assert.deepEqual(Array.from(a), Array.from(b));
    }
  });

  it('one teacher: logits mode returns its logits; probabilities mode its soft labels at T exactly as they were', () => {
    assert.deepEqual(Array.from(combineTeacherLogits([teachers[0]], [2], C, 'logits', 4)), Array.from(teachers[0]));
    const out = combineTeacherLogits([teachers[0]], [2], C, 'probabilities', 4);
    for (let r = 0; r < rows; r++) {
      const want = softmax(rowOf(teachers[0], r, C), 4);
      const got = softmax(rowOf(out, r, C), 4);
      // |z| ≤ 8 + log(10)·4 ≈ 17: relative error ≤ 2·2^-24·17/4 ≈ 5e-7.
      got.forEach((p, c) => assert.ok(Math.abs(p - want[c]) <= 5e-7 * want[c] + 1e-15));
    }
  });

  it('probabilities: confident teachers that disagree give finite logits (no underflow to log 0)', () => {
    const a = new Float32Array([500, -500, 0]);
    const b = new Float32Array([-500, 500, 0]);
    const out = combineTeacherLogits([a, b], [1, 1], 3, 'probabilities', 1);
    for (const v of out) assert.ok(Number.isFinite(v), `${Array.from(out)}`);
    // p̄ = (½, ½, ~e^-500): the first two classes tie at T·log ½.
    assert.ok(Math.abs(out[0] - Math.log(0.5)) < 1e-6 && Math.abs(out[1] - Math.log(0.5)) < 1e-6);
    assert.ok(out[2] < -400);
  });

  it('refuses an empty list, weights that are not positive, and teachers of different sizes', () => {
    assert.throws(() => combineTeacherLogits([], [], C, 'logits', 1), /at least one teacher/);
    assert.throws(() => combineTeacherLogits(teachers.slice(0, 2), [1, 0], C, 'logits', 1), /positive/);
    assert.throws(() => combineTeacherLogits([teachers[0], teachers[1].subarray(0, 9 * rows)], [1, 1], C, 'logits', 1), /differ in size/);
  });
});

describe('config: a list of teachers', () => {
  const base = {
    name: 'x',
    data: { format: 'idx', train: { images: 'tr-i', labels: 'tr-l' }, test: { images: 'te-i', labels: 'te-l' }, unlabeled: { images: 'u-i' } },
    student: { preset: 'mlp' },
  };
  const issues = (teacher: unknown, distillation: object = {}) => {
    const r = validateConfig({ ...base, teacher, distillation });
    return r.ok ? [] : r.issues.map((i) => i.message);
  };

  it('takes teachers of any kinds with weights, fills each one\u2019s defaults, and lists them with weight 1 by default', () => {
    const r = validateConfig({
      ...base,
      teacher: [{ preset: 'mlp', train: { epochs: 1 } }, { model: 't.onnx', weight: 2 }, { logits: { train: 'a.npy', test: 'b.npy', unlabeled: 'c.npy' } }],
      distillation: { teacherEnsemble: 'probabilities' },
    });
    assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
    const list = teacherList(r.config.teacher);
    assert.deepEqual(
      list.map((m) => m.weight),
      [1, 2, 1],
    );
    assert.equal((list[0].teacher as { train: { learningRate: number } }).train.learningRate, 0.001);
    assert.ok(!('weight' in list[1].teacher), 'the member config handed to a teacher has no weight');
  });

  it('names the problem: an empty list, a weight that is not positive, an unknown field of a member', () => {
    assert.deepEqual(issues([]), ['teacher must have at least 1 item(s)']);
    assert.deepEqual(issues([{ preset: 'mlp' }, { preset: 'mlp', weight: 0 }]), ['teacher[1].weight must be > 0 and ≤ 1000000 (got 0)']);
    assert.deepEqual(issues([{ preset: 'mlp', weight: -1 }]), ['teacher[0].weight must be > 0 and ≤ 1000000 (got -1)']);
    assert.match(issues([{ preset: 'mlp', bogus: 1 }])[0], /teacher\[0\]\.bogus is not a known field/);
    assert.match(issues([{ preset: 'mlp' }], { teacherEnsemble: 'median' })[0], /distillation\.teacherEnsemble must be one of "logits", "probabilities"/);
  });

  it('a single teacher is refused a weight (it means nothing there)', () => {
    assert.match(issues({ preset: 'mlp', weight: 2 })[0], /teacher\.weight is not a known field/);
  });

  it('resolves every member\u2019s paths, and the unlabelled rows\u2019 and their logits\u2019, against the config\u2019s folder', () => {
    const r = validateConfig({ ...base, teacher: [{ model: 't/model.json' }, { logits: { train: 'a.npy', test: 'b.npy', unlabeled: 'c.npy' }, weight: 2 }] });
    assert.ok(r.ok);
    const c = resolveConfigPaths(r.config, '/cfg');
    const [m, l] = c.teacher as [{ model: string }, { logits: Record<string, string>; weight: number }];
    assert.equal(m.model, path.resolve('/cfg', 't/model.json'));
    assert.deepEqual(l.logits, { train: '/cfg/a.npy', test: '/cfg/b.npy', unlabeled: '/cfg/c.npy' });
    assert.equal(l.weight, 2);
    assert.deepEqual((c.data as { unlabeled: { images: string } }).unlabeled, { images: '/cfg/u-i' });
  });

  it('names a missing file of a member at its place in the list, in the editor\u2019s diagnostics and the engine\u2019s file list', () => {
    const text = JSON.stringify({ ...base, teacher: [{ preset: 'mlp' }, { model: 'gone/model.json', weight: 2 }] });
    const problems = diagnoseConfigText(text, '/cfg/x.distill.json', (f) => !f.endsWith('gone/model.json'));
    assert.deepEqual(
      problems.filter((p) => p.code === 'missing-file').map((p) => [p.path, p.message.split(' does not')[0]]),
      [[['teacher', 1, 'model'], 'teacher[1].model: the teacher model file /cfg/gone/model.json']],
    );
    const r = validateConfig(JSON.parse(text));
    assert.ok(r.ok);
    assert.deepEqual(
      referencedFiles(resolveConfigPaths(r.config, '/cfg')).filter((f) => f.path[0] === 'teacher'),
      [{ path: ['teacher', 1, 'model'], file: '/cfg/gone/model.json', what: 'teacher model' }],
    );
  });
});
