/**
 * Realistic synthetic runs in the exact record shapes of records.ts: decaying losses with batch noise, a cosine
 * T/α ramp, rising accuracies, class-structured teacher logits (Fashion-MNIST's tops resemble each other, as do its
 * shoes) and student logits that converge to them over the epochs. Seeded, so every run of a test sees the same data.
 *
 * No node and no DOM: the Node tests write run directories from it, and the browser scale test is bundled with it to
 * build a million step records in the page (sending them through the test driver would take minutes).
 */
import type { DistillConfig } from '../../src/shared/config';
import { createRng as rng } from '../../src/shared/random';

export { rng };
import type {
  EpochRecord,
  MetricsRecord,
  ModelReport,
  ProbeInfo,
  SoftLabelRecord,
  StatusFile,
  StepRecord,
  StudentKind,
  Summary,
} from '../../src/shared/records';
import { STEP_METRICS, type StepColumns } from '../../src/shared/webviewProtocol';

export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** Classes a teacher confuses with each other: the "dark knowledge" the heatmaps should show. */
const SIMILAR: number[][] = [[0, 2, 4, 6], [1, 3], [5, 7, 9], [8]];

export interface SyntheticOptions {
  runId: string;
  epochs: number;
  stepsPerEpoch: number;
  probeSize: number;
  baseline: boolean;
  seed: number;
  /** T and α at the first and last step (cosine ramp). */
  temperature: [number, number];
  alpha: [number, number];
  /** `running`: stop after `doneEpochs` epochs, with no summary. */
  status: 'completed' | 'running';
  doneEpochs?: number;
}

export const defaultSyntheticOptions: SyntheticOptions = {
  runId: 'synthetic-fashion-20260101-000000-abcd',
  epochs: 4,
  stepsPerEpoch: 60,
  probeSize: 12,
  baseline: true,
  seed: 7,
  temperature: [6, 2],
  alpha: [0.9, 0.5],
  status: 'completed',
};

export interface SyntheticRun {
  config: DistillConfig;
  status: StatusFile;
  /** metrics.jsonl in file order: each epoch's steps, then its epoch record; the KD student first, then the baseline. */
  metrics: MetricsRecord[];
  softLabels: SoftLabelRecord[];
  probe: ProbeInfo;
  summary?: Summary;
}

const gaussian = (r: () => number) => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());

const cosineRamp = ([from, to]: [number, number], u: number) => to + (from - to) * 0.5 * (1 + Math.cos(Math.PI * u));

/** One step's values for a student at global step `t` (1-based) of `total`. */
export function stepValues(
  student: StudentKind,
  t: number,
  total: number,
  o: Pick<SyntheticOptions, 'temperature' | 'alpha'>,
  r: () => number,
): Omit<StepRecord, 'kind' | 'student' | 'epoch' | 'step'> {
  const u = (t - 1) / Math.max(1, total - 1);
  const kdStudent = student === 'kd';
  const temperature = cosineRamp(o.temperature, u);
  const alpha = kdStudent ? cosineRamp(o.alpha, u) : 0;
  const noise = () => gaussian(r) * 0.08;
  const ce = Math.max(0.05, (kdStudent ? 0.32 : 0.36) + 1.9 * Math.exp(-t / (0.08 * total)) + noise());
  const kdUnscaled = Math.max(0.001, (kdStudent ? 0.015 : 0.06) + 0.45 * Math.exp(-t / (0.1 * total)) + noise() * 0.1);
  const kd = kdUnscaled * temperature * temperature;
  const accuracy = Math.min(1, Math.max(0, (kdStudent ? 0.89 : 0.87) - 0.75 * Math.exp(-t / (0.06 * total)) + noise() * 0.4));
  return { loss: alpha * kd + (1 - alpha) * ce, kd, kdUnscaled, ce, accuracy, temperature, alpha, lr: 0.001 };
}

/** A million-record-ready columnar form of the same steps, for the scale test. */
export function syntheticStepColumns(student: StudentKind, steps: number, stepsPerEpoch: number, firstStep = 1, totalSteps = steps, seed = 1): StepColumns {
  const r = rng(seed + (student === 'kd' ? 0 : 1000));
  const c = { student, globalStep: new Float64Array(steps), epoch: new Float32Array(steps) } as StepColumns;
  for (const m of STEP_METRICS) c[m] = new Float32Array(steps);
  const o = defaultSyntheticOptions;
  for (let i = 0; i < steps; i++) {
    const t = firstStep + i;
    const v = stepValues(student, t, totalSteps, o, r);
    c.globalStep[i] = t;
    c.epoch[i] = Math.floor((t - 1) / stepsPerEpoch) + 1;
    for (const m of STEP_METRICS) c[m][i] = v[m] ?? NaN;
  }
  return c;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out +=
      BASE64[(n >> 18) & 63] + BASE64[(n >> 12) & 63] + (i + 1 < bytes.length ? BASE64[(n >> 6) & 63] : '=') + (i + 2 < bytes.length ? BASE64[n & 63] : '=');
  }
  return out;
}

/** A 28×28 grey picture that differs per class (a bar whose position and width depend on the label). */
function thumbnail(label: number, r: () => number): string {
  const px = new Uint8Array(28 * 28);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const inShape = Math.abs(x - 14) < 3 + label && y > 2 + (label % 4) * 2 && y < 26;
      px[y * 28 + x] = inShape ? 150 + Math.floor(r() * 100) : Math.floor(r() * 20);
    }
  }
  return toBase64(px);
}

function teacherLogits(labels: number[], r: () => number): number[][] {
  return labels.map((y) => {
    const group = SIMILAR.find((g) => g.includes(y))!;
    return FASHION_CLASSES.map((_, c) => (c === y ? 7 + gaussian(r) * 0.5 : group.includes(c) ? 3.5 + gaussian(r) * 0.8 : gaussian(r) * 0.8));
  });
}

function confusionFor(accuracy: number, perClass: number, r: () => number): number[][] {
  return FASHION_CLASSES.map((_, y) => {
    const row = new Array(FASHION_CLASSES.length).fill(0);
    const correct = Math.round(perClass * Math.min(0.99, accuracy + (r() - 0.5) * 0.1));
    row[y] = correct;
    const group = SIMILAR.find((g) => g.includes(y))!.filter((c) => c !== y);
    let left = perClass - correct;
    while (left > 0) {
      const c = group.length && r() < 0.8 ? group[Math.floor(r() * group.length)] : Math.floor(r() * FASHION_CLASSES.length);
      if (c === y) continue;
      row[c]++;
      left--;
    }
    return row;
  });
}

function report(accuracy: number, params: number, r: () => number, teacherAccuracy: number, extra: Partial<ModelReport> = {}): ModelReport {
  const confusion = confusionFor(accuracy, 100, r);
  const f1 = confusion.map((row, c) => {
    const tp = row[c];
    const predicted = confusion.reduce((n, rr) => n + rr[c], 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = tp / 100;
    return precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  });
  const acc = confusion.reduce((n, row, c) => n + row[c], 0) / 1000;
  return {
    accuracy: acc,
    macroF1: f1.reduce((a, b) => a + b, 0) / f1.length,
    params,
    sizeBytes: params * 4,
    perClass: { precision: f1, recall: f1, f1 },
    confusion,
    teacherAccuracyKeptPct: (acc / teacherAccuracy) * 100,
    ...extra,
  };
}

export function syntheticConfig(o: SyntheticOptions): DistillConfig {
  return {
    name: 'synthetic-fashion',
    seed: o.seed,
    data: {
      format: 'idx',
      train: { images: '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz', labels: '/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz' },
      test: { images: '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz', labels: '/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz' },
      validationSplit: 0.1,
      normalize: 'auto',
      classNames: FASHION_CLASSES,
    },
    teacher: { preset: 'cnn-large', train: { epochs: 8, batchSize: 128, optimizer: 'adam', learningRate: 0.001 } },
    student: { preset: 'mlp', hidden: [32] },
    distillation: {
      temperature: o.temperature[0],
      alpha: o.alpha[0],
      divergence: 'forward-kl',
      schedule: { type: 'cosine', start: { temperature: o.temperature[0], alpha: o.alpha[0] }, end: { temperature: o.temperature[1], alpha: o.alpha[1] } },
    },
    training: { epochs: o.epochs, batchSize: 128, optimizer: 'adam', learningRate: 0.001 },
    compare: { baseline: o.baseline },
    evaluation: { probeSize: o.probeSize, latency: true },
    engine: { backend: 'auto' },
    output: { runsDir: 'runs', cacheDir: '.distill-cache' },
  };
}

export function syntheticRun(options: Partial<SyntheticOptions> = {}): SyntheticRun {
  const o = { ...defaultSyntheticOptions, ...options };
  const r = rng(o.seed);
  const done = o.status === 'completed' ? o.epochs : Math.min(o.epochs, o.doneEpochs ?? 1);
  const labels = Array.from({ length: o.probeSize }, (_, i) => i % FASHION_CLASSES.length);
  const teacher = teacherLogits(labels, r);
  const metrics: MetricsRecord[] = [];
  const softLabels: SoftLabelRecord[] = [{ kind: 'teacher', logits: teacher }];
  const total = o.epochs * o.stepsPerEpoch;
  const students: StudentKind[] = o.baseline ? ['kd', 'baseline'] : ['kd'];
  for (const student of students) {
    // The engine trains the KD student fully, then the baseline; a running run is still on the KD student.
    const epochs = student === 'kd' ? done : o.status === 'completed' ? o.epochs : 0;
    for (let e = 1; e <= epochs; e++) {
      let lossSum = 0;
      let accSum = 0;
      for (let s = 1; s <= o.stepsPerEpoch; s++) {
        const t = (e - 1) * o.stepsPerEpoch + s;
        const v = stepValues(student, t, total, o, r);
        lossSum += v.loss;
        accSum += v.accuracy ?? 0;
        metrics.push({ kind: 'step', student, epoch: e, step: s, ...v });
      }
      const u = e / o.epochs;
      const valAccuracy = (student === 'kd' ? 0.86 : 0.84) - 0.25 * Math.exp(-4 * u) + (r() - 0.5) * 0.01;
      const epoch: EpochRecord = {
        kind: 'epoch',
        student,
        epoch: e,
        val: {
          accuracy: valAccuracy,
          macroF1: valAccuracy - 0.01,
          klToTeacher: (student === 'kd' ? 0.08 : 0.2) + 0.6 * Math.exp(-3 * u),
          agreement: (student === 'kd' ? 0.93 : 0.89) - 0.3 * Math.exp(-4 * u),
        },
        train: { loss: lossSum / o.stepsPerEpoch, accuracy: accSum / o.stepsPerEpoch },
        seconds: 3 + r(),
      };
      metrics.push(epoch);
      const w = Math.min(1, u * 1.1);
      softLabels.push({
        kind: 'student',
        student,
        epoch: e,
        logits: teacher.map((row) => row.map((z) => z * w * (student === 'kd' ? 0.9 : 1.3) + gaussian(r) * (1 - w) * 1.5)),
      });
    }
  }
  const now = '2026-01-01T00:00:00.000Z';
  const status: StatusFile =
    o.status === 'completed'
      ? { status: 'completed', runId: o.runId, startedAt: now, updatedAt: now, epoch: o.epochs, student: o.baseline ? 'baseline' : 'kd', totalEpochs: o.epochs }
      : { status: 'running', runId: o.runId, startedAt: now, updatedAt: now, epoch: done, student: 'kd', totalEpochs: o.epochs };
  const probe: ProbeInfo = {
    indices: labels.map((_, i) => i * 37),
    labels,
    classNames: FASHION_CLASSES,
    inputShape: [28, 28, 1],
    thumbnails: { width: 28, height: 28, channels: 1, pixels: labels.map((y) => thumbnail(y, r)) },
  };
  let summary: Summary | undefined;
  if (o.status === 'completed') {
    const teacherReport = report(0.91, 1_200_000, r, 0.91, { latencyMs: { batch1: 2.1, batch256: 0.09 }, ece: 0.03 });
    summary = {
      runId: o.runId,
      status: 'completed',
      backend: {
        name: 'wasm',
        reason: 'WebAssembly with SIMD (synthetic)',
        skipped: [{ name: 'tensorflow-gpu', reason: '@tensorflow/tfjs-node-gpu is not installed' }],
      },
      classNames: FASHION_CLASSES,
      testSamples: 1000,
      seconds: 42.5,
      teacher: teacherReport,
      student: report(0.86, 25_450, r, teacherReport.accuracy, { latencyMs: { batch1: 0.3, batch256: 0.004 }, ece: 0.02, klToTeacher: 0.11, agreement: 0.92 }),
      baseline: o.baseline
        ? report(0.84, 25_450, r, teacherReport.accuracy, { latencyMs: { batch1: 0.3, batch256: 0.004 }, ece: 0.05, klToTeacher: 0.25, agreement: 0.88 })
        : undefined,
    };
  }
  return { config: syntheticConfig(o), status, metrics, softLabels, probe, summary };
}
