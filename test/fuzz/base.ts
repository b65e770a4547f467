/**
 * The valid experiment every fuzz case starts from: a tiny seeded dataset in each format the engine reads (IDX,
 * CSV, .npy), precomputed teacher logits (.npy and JSON lines), and a teacher saved as a tfjs model.json with its
 * weight shard. Written once per worker; a case overrides some of these files or the config.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { createRng } from '../../src/shared/random';
import { encodeNpy } from '../../src/engine/data';
import { saveLayersModel } from '../../src/engine/models/modelFiles';
import { idxBytes as writeIdx, npyWithHeader } from '../engine/fixtures/dataFiles';

export const ROWS = { train: 48, test: 24 } as const;
export const SIDE = 4;
export const CLASSES = 3;

/** Files of the base experiment, by path relative to the base folder. */
export type FileSet = Record<string, Buffer>;

/** An IDX file (the engine tests' writer), type code last: most cases want unsigned bytes. */
export const idxBytes = (dims: number[], body: Uint8Array, typeCode = 0x08): Buffer => writeIdx(typeCode, dims, body);
export { npyWithHeader };

interface Split {
  pixels: Uint8Array;
  labels: Uint8Array;
  logits: Float32Array;
}

function split(rows: number, seed: number): Split {
  const rng = createRng(seed);
  const labels = Uint8Array.from({ length: rows }, (_, i) => i % CLASSES);
  const pixels = new Uint8Array(rows * SIDE * SIDE);
  // Each class brightens its own third of the image: learnable, so a valid run completes with a real report.
  for (let r = 0; r < rows; r++)
    for (let p = 0; p < SIDE * SIDE; p++)
      pixels[r * SIDE * SIDE + p] = Math.floor(rng() * 120) + (Math.floor((p * CLASSES) / (SIDE * SIDE)) === labels[r] ? 120 : 0);
  const logits = new Float32Array(rows * CLASSES);
  for (let r = 0; r < rows; r++) for (let c = 0; c < CLASSES; c++) logits[r * CLASSES + c] = (c === labels[r] ? 3 : 0) + rng() - 0.5;
  return { pixels, labels, logits };
}

const csvText = (s: Split) =>
  [
    'label,' + Array.from({ length: SIDE * SIDE }, (_, i) => `p${i}`).join(','),
    ...Array.from(s.labels, (l, r) => `${l},${Array.from(s.pixels.subarray(r * SIDE * SIDE, (r + 1) * SIDE * SIDE)).join(',')}`),
  ].join('\n') + '\n';

const jsonl = (logits: Float32Array) =>
  Array.from({ length: logits.length / CLASSES }, (_, r) => JSON.stringify(Array.from(logits.subarray(r * CLASSES, (r + 1) * CLASSES)))).join('\n') + '\n';

/** Writes the base files into `dir` and returns them (for cases to mutate). */
export async function writeBase(dir: string): Promise<FileSet> {
  const files: FileSet = {};
  for (const [name, rows, seed] of [
    ['train', ROWS.train, 1],
    ['test', ROWS.test, 2],
  ] as const) {
    const s = split(rows, seed);
    files[`${name}-images.idx`] = idxBytes([rows, SIDE, SIDE], s.pixels);
    files[`${name}-labels.idx`] = idxBytes([rows], s.labels);
    files[`${name}.csv`] = Buffer.from(csvText(s));
    files[`${name}-x.npy`] = encodeNpy(
      Float32Array.from(s.pixels, (v) => v / 255),
      [rows, SIDE * SIDE],
    );
    files[`${name}-y.npy`] = encodeNpy(Int32Array.from(s.labels), [rows]);
    files[`${name}-logits.npy`] = encodeNpy(s.logits, [rows, CLASSES]);
    files[`${name}-logits.jsonl`] = Buffer.from(jsonl(s.logits));
  }
  await tf.setBackend('cpu');
  const teacher = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [SIDE, SIDE, 1] }),
      tfl.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }) }),
      tfl.layers.dense({ units: CLASSES, kernelInitializer: tfl.initializers.glorotUniform({ seed: 6 }) }),
    ],
  });
  const teacherDir = path.join(dir, 'teacher');
  await saveLayersModel(teacher, teacherDir);
  teacher.dispose();
  files['teacher/model.json'] = fs.readFileSync(path.join(teacherDir, 'model.json'));
  files['teacher/weights.bin'] = fs.readFileSync(path.join(teacherDir, 'weights.bin'));
  for (const [rel, bytes] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), bytes);
  }
  return files;
}

/** The base config: IDX data, the model.json teacher, a tiny mlp student, wasm, no latency. Paths relative to the case folder's `base/`. */
export function baseConfig(): Record<string, unknown> {
  return {
    name: 'fuzz',
    seed: 1,
    data: {
      format: 'idx',
      train: { images: 'base/train-images.idx', labels: 'base/train-labels.idx' },
      test: { images: 'base/test-images.idx', labels: 'base/test-labels.idx' },
      validationSplit: 0.25,
    },
    teacher: { model: 'base/teacher/model.json' },
    student: { preset: 'mlp', hidden: [4] },
    distillation: { temperature: 2, alpha: 0.5 },
    training: { epochs: 1, batchSize: 16 },
    evaluation: { probeSize: 3, latency: false },
    engine: { backend: 'wasm' },
    output: { runsDir: 'runs', cacheDir: 'cache' },
  };
}
