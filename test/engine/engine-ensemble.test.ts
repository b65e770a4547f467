/**
 * A list of teachers on real Fashion-MNIST: two tiny seeded preset teachers, each trained and its logits cached on
 * their own; the ensemble's logits (on the test rows and on the probe's training rows) equal a float64 reference
 * combination of the two teachers' cached logits; each teacher's own accuracy is reported beside the ensemble's.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { summaryTable } from '../../src/engine/cli';
import { DistillEngine } from '../../src/engine/engine';
import { encodeNpy, loadDataset, stratifiedSplit } from '../../src/engine/data';
import { parseNpy } from '../../src/engine/data/npy';
import type { DistillConfig } from '../../src/shared/config';
import type { ProbeInfo, SoftLabelRecord, Summary } from '../../src/shared/records';
import { readJson, readJsonLines } from '../../src/shared/runDir';
import { removeTempDir } from '../support/tempDirs';
import { resumeEngine, runEngine, smallConfig, tempDir } from './helpers';

const C = 10;
const TRAIN = 1500;
const TEST = 500;

/** Float64 log-softmax of row r of z at T. */
function logSoftmax(z: ArrayLike<number>, r: number, T: number): number[] {
  const row = Array.from({ length: C }, (_, c) => z[r * C + c] / T);
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  return row.map((v) => v - lse);
}

/** The reference ensemble, in float64: Σ w z_i, or T·log Σ w softmax(z_i / T) (w normalised). */
function reference(members: Float32Array[], weights: number[], mode: 'logits' | 'probabilities', T: number): Float64Array {
  const W = weights.reduce((a, b) => a + b, 0);
  const n = members[0].length;
  const out = new Float64Array(n);
  for (let r = 0; r < n / C; r++) {
    const logPs = members.map((z) => logSoftmax(z, r, T));
    for (let c = 0; c < C; c++) {
      out[r * C + c] =
        mode === 'logits'
          ? members.reduce((s, z, i) => s + (weights[i] / W) * z[r * C + c], 0)
          : T * Math.log(logPs.reduce((s, lp, i) => s + (weights[i] / W) * Math.exp(lp[c]), 0));
    }
  }
  return out;
}

const argmax = (z: ArrayLike<number>, r: number) => {
  let best = 0;
  for (let c = 1; c < C; c++) if (z[r * C + c] > z[r * C + best]) best = c;
  return best;
};
/** Mean KL(softmax(p) ‖ softmax(q)) at T = 1, float64. */
const meanKl = (p: ArrayLike<number>, q: Float32Array) => {
  let total = 0;
  for (let r = 0; r < q.length / C; r++) {
    const lp = logSoftmax(p, r, 1);
    const lq = logSoftmax(q, r, 1);
    total += lp.reduce((s, v, c) => s + Math.exp(v) * (v - lq[c]), 0);
  }
  return total / (q.length / C);
};

describe('engine: a list of teachers (an ensemble)', function () {
  this.timeout(900_000);
  const dir = tempDir();
  after(() => removeTempDir(dir));
  const softLabelsDir = path.join(dir, 'cache', 'soft-labels');
  const teacherA = { preset: 'mlp', hidden: [32], train: { epochs: 1, batchSize: 64 } };
  const teacherB = { preset: 'mlp', hidden: [24], train: { epochs: 1, batchSize: 64 } };
  const config = (teacher: unknown, distillation: object = {}) => {
    const base = smallConfig(dir);
    return smallConfig(dir, {
      data: { ...base.data, maxSamples: { train: TRAIN, test: TEST } },
      teacher,
      distillation: { temperature: 4, alpha: 0.9, ...distillation },
      training: { epochs: 1, batchSize: 64, learningRate: 0.003 },
    });
  };
  /** The cached logits files made since `before`, by rows: the teacher's test and train logits. */
  const newLogits = (before: Set<string>) => {
    const files = fs.readdirSync(softLabelsDir).filter((f) => !before.has(f));
    const read = (f: string) => parseNpy(fs.readFileSync(path.join(softLabelsDir, f)), { file: f, field: 'test' });
    const byRows = new Map(files.map((f) => [read(f).shape[0], Float32Array.from(read(f).data as ArrayLike<number>)]));
    assert.deepEqual(
      [...byRows.keys()].sort((a, b) => a - b),
      [TEST, TRAIN],
      `one test and one train logits file: ${files}`,
    );
    return { test: byRows.get(TEST)!, train: byRows.get(TRAIN)! };
  };
  const listing = () => new Set(fs.existsSync(softLabelsDir) ? fs.readdirSync(softLabelsDir) : []);

  let a: { test: Float32Array; train: Float32Array };
  let b: { test: Float32Array; train: Float32Array };
  let testLabels: Int32Array;
  let trainLabels: Int32Array;
  let logitsRun: Awaited<ReturnType<typeof runEngine>>;

  before(async () => {
    // Teacher A alone first (as a sweep prepares its teacher): what the list's first member must reuse from the cache.
    const engine = new DistillEngine(() => undefined);
    assert.ok(await engine.prepareTeacher(config(teacherA)));
    a = newLogits(new Set());
    const afterA = listing();
    logitsRun = await runEngine(config([teacherA, { ...teacherB, weight: 3 }]));
    b = newLogits(afterA);
    const data = await loadDataset(config(teacherA).data);
    testLabels = data.test.y;
    trainLabels = data.train.y;
  });

  it('completes; the first member is the single teacher A (from the cache), the second trains and caches its own logits', () => {
    assert.equal(logitsRun.finished.status, 'completed', logitsRun.finished.reason);
    const logs = logitsRun.messages.flatMap((m) => (m.type === 'log' ? [m.message] : []));
    assert.ok(
      logs.some((l) => /Teacher: ensemble of 2 \(mean of the logits\): \[0\] .*\(logits from cache\); \[1\] /.test(l)),
      logs.join('\n'),
    );
    assert.ok(!logs.some((l) => /\[1\] .*\(logits from cache\)/.test(l)), 'teacher B was not cached before');
    assert.ok(logs.some((l) => /weights 0\.250, 0\.750/.test(l)));
  });

  it('reports each teacher\u2019s own test accuracy, and the ensemble\u2019s from the reference combination', () => {
    const s = readJson<Summary>(path.join(logitsRun.runDir, 'summary.json'))!;
    assert.equal(s.teachers?.length, 2);
    assert.deepEqual(s.ensemble, { mode: 'logits' });
    const accuracy = (z: ArrayLike<number>) => testLabels.reduce((n, y, r) => n + (argmax(z, r) === y ? 1 : 0), 0) / TEST;
    assert.equal(s.teachers![0].accuracy, accuracy(a.test));
    assert.equal(s.teachers![1].accuracy, accuracy(b.test));
    assert.deepEqual(
      s.teachers!.map((t) => t.weight),
      [0.25, 0.75],
    );
    assert.ok(
      s.teachers!.every((t) => t.accuracy > 0.5),
      `tiny teachers still learn: ${s.teachers!.map((t) => t.accuracy)}`,
    );
    const ref = reference([a.test, b.test], [1, 3], 'logits', 4);
    assert.equal(s.teacher.accuracy, accuracy(ref));
    // Each teacher's KL and agreement are to the ensemble: computed here from the reference, in float64. The
    // engine's ensemble is the same value rounded to float32 (|Δz| ≤ 2^-24·|z| ≤ 1e-5 for |z| < 100), which moves a
    // mean KL by at most ~2·1e-5.
    for (const [i, m] of [a.test, b.test].entries()) {
      assert.ok(Math.abs(s.teachers![i].klToTeacher! - meanKl(ref, m)) < 2e-5, `teacher ${i}: ${s.teachers![i].klToTeacher} vs ${meanKl(ref, m)}`);
      assert.equal(s.teachers![i].agreement, testLabels.reduce((n, _, r) => n + (argmax(ref, r) === argmax(m, r) ? 1 : 0), 0) / TEST);
    }
    // The students are measured against the ensemble; 22 steps of an MLP[16] are well above chance (10%), no more.
    assert.ok(s.student.accuracy > 0.2, `student ${s.student.accuracy}`);
    assert.ok(Math.abs(s.student.teacherAccuracyKeptPct! - (100 * s.student.accuracy) / s.teacher.accuracy) < 1e-9);
  });

  it('the CLI table lists each teacher under the ensemble, with its weight and accuracy, and says how they combine', () => {
    const s = readJson<Summary>(path.join(logitsRun.runDir, 'summary.json'))!;
    const table = summaryTable(s);
    assert.match(table, /^Teacher: an ensemble of 2 \(mean of the logits\); each teacher's KL→teacher and agreement are to the ensemble\. 1: .*; 2: .*\.$/m);
    const lines = table.split('\n');
    const at = lines.findIndex((l) => l.startsWith('Teacher '));
    assert.ok(lines[at + 1].startsWith('  teacher 1 (w 0.25)') && lines[at + 1].includes(`${(s.teachers![0].accuracy * 100).toFixed(2)}%`), table);
    assert.ok(lines[at + 2].startsWith('  teacher 2 (w 0.75)') && lines[at + 2].includes(`${(s.teachers![1].accuracy * 100).toFixed(2)}%`), table);
  });

  it('the students learnt from the ensemble: the probe\u2019s teacher soft labels (training rows) equal the reference', () => {
    const probe = readJson<ProbeInfo>(path.join(logitsRun.runDir, 'probe.json'))!;
    const teacher = readJsonLines<SoftLabelRecord>(path.join(logitsRun.runDir, 'softlabels.jsonl')).find((r) => r.kind === 'teacher')!;
    // The probe rows are validation rows: the run's seeded split of the training rows.
    const { valIdx } = stratifiedSplit(trainLabels, C, 0.1, 7);
    const ref = reference([a.train, b.train], [1, 3], 'logits', 4);
    probe.indices.forEach((vi, k) => {
      const row = valIdx[vi];
      // softlabels.jsonl rounds to 1e-4 (±5e-5), on top of float32 rounding (≤ 1e-5 here).
      for (let c = 0; c < C; c++)
        assert.ok(Math.abs(teacher.logits[k][c] - ref[row * C + c]) <= 6e-5, `probe ${k}, class ${c}: ${teacher.logits[k][c]} vs ${ref[row * C + c]}`);
    });
  });

  it('each teacher\u2019s own probe soft labels follow the ensemble\u2019s, in list order, as the report names them', () => {
    const probe = readJson<ProbeInfo>(path.join(logitsRun.runDir, 'probe.json'))!;
    const records = readJsonLines<SoftLabelRecord>(path.join(logitsRun.runDir, 'softlabels.jsonl'));
    const s = readJson<Summary>(path.join(logitsRun.runDir, 'summary.json'))!;
    // The ensemble's record, then one per member, then the student's (one epoch, no scratch baseline here).
    assert.deepEqual(
      records.map((r) => (r.kind === 'teacher' ? (r.member ?? 'ensemble') : r.student)),
      ['ensemble', 0, 1, 'kd'],
    );
    const members = records.slice(1, 3) as Extract<SoftLabelRecord, { member: number }>[];
    assert.deepEqual(
      members.map((m) => m.label),
      ['Teacher 1 (w 0.25)', 'Teacher 2 (w 0.75)'],
    );
    assert.deepEqual(
      members.map((m) => m.name),
      s.teachers!.map((t) => t.name),
    );
    const { valIdx } = stratifiedSplit(trainLabels, C, 0.1, 7);
    for (const [i, own] of [a.train, b.train].entries()) {
      assert.equal(members[i].logits.length, probe.indices.length);
      probe.indices.forEach((vi, k) => {
        const row = valIdx[vi];
        // The member's cached float32 logits, gathered unchanged: only softlabels.jsonl's rounding to 1e-4
        // (±5e-5, plus ~1e-12 of float64 arithmetic in the rounding) separates them.
        for (let c = 0; c < C; c++)
          assert.ok(
            Math.abs(members[i].logits[k][c] - own[row * C + c]) <= 5e-5 + 1e-9,
            `teacher ${i}, probe ${k}, class ${c}: ${members[i].logits[k][c]} vs ${own[row * C + c]}`,
          );
      });
    }
    // The two teachers differ on the probe rows, so the check above tells them apart.
    assert.ok(members[0].logits.some((row, k) => row.some((v, c) => Math.abs(v - members[1].logits[k][c]) > 0.01)));
  });

  it('probabilities: the ensemble is T·log of the mean soft labels at T; the teachers\u2019 logits all come from the cache', async () => {
    const run = await runEngine(config([teacherA, { ...teacherB, weight: 3 }], { teacherEnsemble: 'probabilities' }));
    assert.equal(run.finished.status, 'completed', run.finished.reason);
    const logs = run.messages.flatMap((m) => (m.type === 'log' ? [m.message] : []));
    assert.ok(
      logs.some((l) => /mean of the probabilities at T = 4\): \[0\] .*\(logits from cache\); \[1\] .*\(logits from cache\)/.test(l)),
      logs.join('\n'),
    );
    const s = readJson<Summary>(path.join(run.runDir, 'summary.json'))!;
    assert.deepEqual(s.ensemble, { mode: 'probabilities', temperature: 4 });
    const ref = reference([a.test, b.test], [1, 3], 'probabilities', 4);
    assert.equal(s.teacher.accuracy, testLabels.reduce((n, y, r) => n + (argmax(ref, r) === y ? 1 : 0), 0) / TEST);
    for (const [i, m] of [a.test, b.test].entries()) assert.ok(Math.abs(s.teachers![i].klToTeacher! - meanKl(ref, m)) < 2e-5);
    const probe = readJson<ProbeInfo>(path.join(run.runDir, 'probe.json'))!;
    const teacher = readJsonLines<SoftLabelRecord>(path.join(run.runDir, 'softlabels.jsonl')).find((r) => r.kind === 'teacher')!;
    const { valIdx } = stratifiedSplit(trainLabels, C, 0.1, 7);
    const train = reference([a.train, b.train], [1, 3], 'probabilities', 4);
    probe.indices.forEach((vi, k) => {
      for (let c = 0; c < C; c++) assert.ok(Math.abs(teacher.logits[k][c] - train[valIdx[vi] * C + c]) <= 6e-5);
    });
  });

  it('teachers of different kinds: preset A with B given as precomputed logits is the same ensemble as the two presets', async () => {
    // B's cached logits written out as a logits teacher's files: every source row (60,000 and 10,000); the rows past
    // data.maxSamples are never read, so zeros stand in for them.
    const pad = (z: Float32Array, rows: number) => {
      const out = new Float32Array(rows * C);
      out.set(z);
      return out;
    };
    const trainFile = path.join(dir, 'b-train.npy');
    const testFile = path.join(dir, 'b-test.npy');
    fs.writeFileSync(trainFile, encodeNpy(pad(b.train, 60000), [60000, C]));
    fs.writeFileSync(testFile, encodeNpy(pad(b.test, 10000), [10000, C]));
    const run = await runEngine(config([teacherA, { logits: { train: trainFile, test: testFile }, weight: 3 }]));
    assert.equal(run.finished.status, 'completed', run.finished.reason);
    const s = readJson<Summary>(path.join(run.runDir, 'summary.json'))!;
    const full = readJson<Summary>(path.join(logitsRun.runDir, 'summary.json'))!;
    assert.deepEqual(
      s.teachers!.map((t) => [t.accuracy, t.klToTeacher, t.agreement]),
      full.teachers!.map((t) => [t.accuracy, t.klToTeacher, t.agreement]),
    );
    assert.deepEqual(s.teacher.confusion, full.teacher.confusion);
    assert.equal(s.teachers![1].params, null, 'a logits teacher has no parameters');
    assert.equal(s.teacher.params, null, 'nor, then, does the ensemble');
  });

  it('a stop while the second teacher trains keeps its checkpoint (the first one\u2019s cache entry does not drop it); resume continues it', async () => {
    const stopCache = { runsDir: path.join(dir, 'runs'), cacheDir: path.join(dir, 'cache-stop') };
    const teachers = [teacherA, { ...teacherB, weight: 3 }];
    // The stop is asked for as the second teacher starts training, so it lands at that teacher's first step
    // boundary on any machine. A count of step records would not do: records arrive in batches flushed every 100 ms,
    // and a 22-step teacher epoch on a fast machine is one batch, which came after the second teacher had finished.
    let teachersStarted = 0;
    const stopped = await runEngine(smallConfig(dir, { ...config(teachers), output: stopCache }), (engine, m) => {
      if (m.type === 'phase' && m.phase === 'teacher-training' && ++teachersStarted === 2) engine.requestStop();
    });
    assert.equal(stopped.finished.status, 'stopped', stopped.finished.reason);
    assert.equal(teachersStarted, 2, 'the stop caught the second teacher');
    assert.match(
      stopped.finished.reason ?? '',
      /^Stopped while training the teacher \(epoch 1 of 1, step 0\); its checkpoint is kept, and resume continues it\.$/,
    );
    const resumed = await resumeEngine(stopped.runDir);
    assert.equal(resumed.finished.status, 'completed', resumed.finished.reason);
    const logs = resumed.messages.flatMap((m) => (m.type === 'log' ? [m.message] : m.type === 'phase' ? [m.message] : []));
    assert.ok(
      logs.some((l) => /Using the cached mlp teacher/.test(l)),
      'the first teacher comes from the cache',
    );
    assert.ok(
      logs.some((l) => /Continuing the mlp teacher from its checkpoint \(epoch 1 of 1, step 0\)/.test(l)),
      logs.join('\n'),
    );
    // Resume is exact: the same two teachers as the uninterrupted run's.
    const s = readJson<Summary>(path.join(resumed.runDir, 'summary.json'))!;
    const full = readJson<Summary>(path.join(logitsRun.runDir, 'summary.json'))!;
    assert.deepEqual(
      s.teachers!.map((t) => t.accuracy),
      full.teachers!.map((t) => t.accuracy),
    );
    assert.equal(s.teacher.accuracy, full.teacher.accuracy);
    // The probe files were written once, when the students began: the ensemble's record and each member's, no more.
    const teacherRecords = readJsonLines<SoftLabelRecord>(path.join(resumed.runDir, 'softlabels.jsonl')).filter((r) => r.kind === 'teacher');
    assert.deepEqual(
      teacherRecords.map((r) => r.member),
      [undefined, 0, 1],
    );
  });

  it('a teacher whose class count differs fails the run, naming it: teacher[0] and its logits file', async () => {
    const file = path.join(dir, 'nine.npy');
    fs.writeFileSync(file, encodeNpy(new Float32Array(60000 * 9), [60000, 9]));
    const testFile = path.join(dir, 'nine-test.npy');
    fs.writeFileSync(testFile, encodeNpy(new Float32Array(10000 * 9), [10000, 9]));
    const run = await runEngine(config([{ logits: { train: file, test: testFile } }, teacherA]) as DistillConfig);
    assert.equal(run.finished.status, 'failed');
    assert.match(run.finished.reason!, /^teacher\[0\] \(teacher 1 of 2\): .*nine\.npy.*9 logits per row but the data has 10 classes/);
  });
});
