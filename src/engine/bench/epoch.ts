/**
 * One epoch of real Fashion-MNIST through the whole engine, as a user runs it: data loading and normalisation, the
 * split, the backend probe, one epoch of the cnn-small KD student with validation, saving, and the test report.
 * The teacher is given as precomputed logits, so no teacher runs inside the timed part (as with a cached teacher).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { ConcreteBackend } from '../../shared/config';
import { parseConfigText } from '../../shared/configFile';
import type { EngineToHost } from '../../shared/protocol';
import { newRunId, writeFileAtomic } from '../../shared/runDir';
import { parseIdxLabels } from '../data/idx';
import { createRng } from '../data/sampling';
import { readMaybeGzipped, type FileRole } from '../data/sourceFile';
import { DistillEngine } from '../engine';
import { encodeNpy } from '../data';
import { NUM_CLASSES } from './measure';

/** Where Debian-like images keep the dataset; `--fashion-mnist` names another folder with the same four files. */
export const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const VALIDATION_SPLIT = 0.1;

type SplitFiles = Record<'train' | 'test', { images: string; labels: string }>;

/** The four IDX files in `dir` (a training file may hold fewer than 60,000 rows: the GPU check carries a slice). */
function fashionMnistFiles(dir: string): SplitFiles {
  return {
    train: { images: path.join(dir, 'train-images-idx3-ubyte.gz'), labels: path.join(dir, 'train-labels-idx1-ubyte.gz') },
    test: { images: path.join(dir, 't10k-images-idx3-ubyte.gz'), labels: path.join(dir, 't10k-labels-idx1-ubyte.gz') },
  };
}

export interface EpochResult {
  trainRows: number;
  seconds: number;
  cpuSeconds: number;
  /** Start to the training phase (data, split, probe), the training phase (incl. validation and saving), the rest. */
  loadSeconds: number;
  trainSeconds: number;
  evalSeconds: number;
  tensorDelta: number;
  /** The KD student's accuracy on the 10,000 test rows: a trained model, not only a fast one. */
  testAccuracy?: number;
}

/** Why the epoch case cannot run with the dataset in `dataDir`, or undefined when it can. */
export function epochUnavailable(dataDir = FASHION_MNIST): string | undefined {
  const files = fashionMnistFiles(dataDir);
  const missing = [files.train.images, files.train.labels, files.test.images, files.test.labels].filter((f) => !fs.existsSync(f));
  return missing.length ? `Fashion-MNIST not found (${missing.join(', ')})` : undefined;
}

/**
 * Teacher logits for every row of the train and test files, written once into `cacheDir`. Random, seeded: the
 * values do not change how fast the student trains, and the benchmark must not depend on a trained teacher.
 */
function teacherLogitFiles(files: SplitFiles, cacheDir: string): { files: { train: string; test: string }; trainFileRows: number } {
  const out = { train: '', test: '' };
  let trainFileRows = 0;
  for (const split of ['train', 'test'] as const) {
    const role: FileRole = { file: files[split].labels, field: `data.${split}.labels` };
    const rows = parseIdxLabels(readMaybeGzipped(role), role).length;
    if (split === 'train') trainFileRows = rows;
    const file = path.join(cacheDir, `random-teacher-logits-${split}-${rows}x${NUM_CLASSES}.npy`);
    if (!fs.existsSync(file)) {
      // Drawn in JavaScript, not by a backend: synchronous reads fail on webgpu in Node (no OffscreenCanvas).
      const logits = Float32Array.from({ length: rows * NUM_CLASSES }, gaussian(7 + rows, 3));
      fs.mkdirSync(cacheDir, { recursive: true });
      writeFileAtomic(file, encodeNpy(logits, [rows, NUM_CLASSES]));
    }
    out[split] = file;
  }
  return { files: out, trainFileRows };
}

/** Normal draws with standard deviation `sd` from a seeded generator (Box–Muller). */
function gaussian(seed: number, sd: number): () => number {
  const rng = createRng(seed);
  // 1 - rng() lies in (0, 1]: the logarithm stays finite.
  return () => sd * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** `maxTrainRows` cuts the training file (for --quick); undefined uses all its rows. `dataDir` holds the dataset. */
export async function measureEpoch(
  backend: ConcreteBackend,
  batch: number,
  workDir: string,
  maxTrainRows?: number,
  dataDir = FASHION_MNIST,
  threads = 1,
): Promise<EpochResult> {
  const files = fashionMnistFiles(dataDir);
  const { files: logits, trainFileRows } = teacherLogitFiles(files, path.join(workDir, 'cache'));
  const rows = Math.min(trainFileRows, maxTrainRows ?? Infinity);
  const raw = {
    name: 'bench-epoch',
    seed: 1,
    data: {
      format: 'idx',
      ...files,
      validationSplit: VALIDATION_SPLIT,
      ...(maxTrainRows ? { maxSamples: { train: maxTrainRows } } : {}),
    },
    teacher: { logits },
    student: { preset: 'cnn-small' },
    distillation: { temperature: 4, alpha: 0.7 },
    training: { epochs: 1, batchSize: batch, optimizer: 'adam', learningRate: 0.001 },
    compare: { baseline: false },
    evaluation: { latency: false },
    engine: { backend, threads },
    output: { runsDir: path.join(workDir, 'runs'), cacheDir: path.join(workDir, 'cache') },
  };
  const config = parseConfigText(JSON.stringify(raw), path.join(workDir, 'bench.distill.json'));
  const runDir = path.join(config.output.runsDir, newRunId(config.name));
  const phaseAt = new Map<string, number>();
  let chosen: string | undefined;
  const engine = new DistillEngine((m: EngineToHost) => {
    if (m.type === 'phase' && !phaseAt.has(m.phase)) phaseAt.set(m.phase, performance.now());
    if (m.type === 'started') chosen = m.backend.name;
  });

  const tensorsBefore = tf.memory().numTensors;
  const wall = performance.now();
  const cpu = process.cpuUsage();
  try {
    const finished = await engine.start(config, runDir);
    const end = performance.now();
    const used = process.cpuUsage(cpu);
    if (finished.status !== 'completed') throw new Error(`the engine run ${finished.status}: ${finished.reason ?? 'no reason given'}`);
    if (chosen !== backend) throw new Error(`the engine ran on ${chosen ?? 'an unknown backend'}, not ${backend}`);
    const training = phaseAt.get('training') ?? wall;
    const evaluating = phaseAt.get('evaluating') ?? end;
    return {
      // Mirrors stratifiedSplit: the validation rows are round(rows × fraction).
      trainRows: rows - Math.round(rows * VALIDATION_SPLIT),
      seconds: (end - wall) / 1000,
      cpuSeconds: (used.user + used.system) / 1e6,
      loadSeconds: (training - wall) / 1000,
      trainSeconds: (evaluating - training) / 1000,
      evalSeconds: (end - evaluating) / 1000,
      tensorDelta: tf.memory().numTensors - tensorsBefore,
      testAccuracy: finished.summary?.student.accuracy,
    };
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}
