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
import { readMaybeGzipped, type FileRole } from '../data/sourceFile';
import { DistillEngine } from '../engine';
import { encodeNpy } from '../data';
import { NUM_CLASSES } from './measure';

export const FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const VALIDATION_SPLIT = 0.1;

const files = {
  train: { images: `${FASHION_MNIST}/train-images-idx3-ubyte.gz`, labels: `${FASHION_MNIST}/train-labels-idx1-ubyte.gz` },
  test: { images: `${FASHION_MNIST}/t10k-images-idx3-ubyte.gz`, labels: `${FASHION_MNIST}/t10k-labels-idx1-ubyte.gz` },
};

export interface EpochResult {
  trainRows: number;
  seconds: number;
  cpuSeconds: number;
  /** Start to the training phase (data, split, probe), the training phase (incl. validation and saving), the rest. */
  loadSeconds: number;
  trainSeconds: number;
  evalSeconds: number;
  tensorDelta: number;
}

/** Why the epoch case cannot run here, or undefined when it can. */
export function epochUnavailable(): string | undefined {
  const missing = [files.train.images, files.train.labels, files.test.images, files.test.labels].filter((f) => !fs.existsSync(f));
  return missing.length ? `Fashion-MNIST not found (${missing.join(', ')})` : undefined;
}

/**
 * Teacher logits for every row of the train and test files, written once into `cacheDir`. Random, seeded: the
 * values do not change how fast the student trains, and the benchmark must not depend on a trained teacher.
 */
function teacherLogitFiles(cacheDir: string): { files: { train: string; test: string }; trainFileRows: number } {
  const out = { train: '', test: '' };
  let trainFileRows = 0;
  for (const split of ['train', 'test'] as const) {
    const role: FileRole = { file: files[split].labels, field: `data.${split}.labels` };
    const rows = parseIdxLabels(readMaybeGzipped(role), role).length;
    if (split === 'train') trainFileRows = rows;
    const file = path.join(cacheDir, `random-teacher-logits-${split}-${rows}x${NUM_CLASSES}.npy`);
    if (!fs.existsSync(file)) {
      const logits = tf.tidy(() => tf.randomNormal([rows, NUM_CLASSES], 0, 3, 'float32', 7).dataSync() as Float32Array);
      fs.mkdirSync(cacheDir, { recursive: true });
      writeFileAtomic(file, encodeNpy(logits, [rows, NUM_CLASSES]));
    }
    out[split] = file;
  }
  return { files: out, trainFileRows };
}

/** `maxTrainRows` cuts the training file (for --quick); undefined uses all 60,000 rows. */
export async function measureEpoch(backend: ConcreteBackend, batch: number, workDir: string, maxTrainRows?: number): Promise<EpochResult> {
  const { files: logits, trainFileRows } = teacherLogitFiles(path.join(workDir, 'cache'));
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
    engine: { backend },
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
    };
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}
