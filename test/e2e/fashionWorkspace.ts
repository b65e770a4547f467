// The workspace the end-to-end scenario opens: a small real Fashion-MNIST experiment, a trained teacher and an
// untrained student as TensorFlow.js model files (what the Models view discovers), and a config that starts out with
// presets, so picking the files from the view visibly changes it.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataConfig } from '../../src/shared/config';
import { loadDataset } from '../../src/engine/data';
import { saveLayersModel } from '../../src/engine/models/modelFiles';
import { buildPreset } from '../../src/engine/models/presets';
import { FASHION_CLASS_NAMES, fashionMnistData } from '../fixtures/fashionMnist';

const SEED = 7;

export interface FashionWorkspace {
  readonly dir: string;
  /** Relative to `dir`. */
  readonly configFile: string;
  readonly teacherModel: string;
  readonly studentModel: string;
}

/** Sized so an epoch takes a few seconds on two cores: long enough to stop a run mid-epoch from the UI, short
 *  enough for the whole e2e to stay within its ten minutes. */
const DATA: DataConfig = {
  ...fashionMnistData({ train: 8000, test: 1000 }, { classNames: FASHION_CLASS_NAMES }),
  validationSplit: 0.1,
  normalize: 'auto',
};

/** The config as a user would write it, comments included (the extension must keep them when it edits). */
function configText(): string {
  return `{
  // End-to-end test experiment: small real Fashion-MNIST slices.
  "name": "e2e-fashion",
  "seed": ${SEED},
  "data": ${JSON.stringify(DATA, null, 2).replace(/\n/g, '\n  ')},
  "teacher": { "preset": "mlp", "hidden": [64], "train": { "epochs": 1 } },
  "student": { "preset": "mlp", "hidden": [16] },
  "distillation": { "temperature": 4, "alpha": 0.7 },
  "training": { "epochs": 3, "batchSize": 16, "learningRate": 0.003 },
  "compare": { "baseline": false },
  "evaluation": { "probeSize": 16, "latency": false },
  "engine": { "backend": "wasm" }
}
`;
}

/** Trains a small MLP teacher for one epoch (seconds on the CPU backend), so its soft labels mean something. */
async function trainTeacher(file: string): Promise<void> {
  const data = await loadDataset({ ...DATA, maxSamples: { train: 3000, test: 1 } });
  const model = buildPreset({ preset: 'mlp', hidden: [128] }, data.inputShape, data.numClasses, SEED, 'teacher');
  model.compile({ optimizer: tf.train.adam(0.003), loss: (labels: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, logits) });
  const x = tf.tensor(data.train.x, [data.train.count, ...data.inputShape]);
  const y = tf.oneHot(tf.tensor1d(data.train.y, 'int32'), data.numClasses);
  // No shuffle: tfjs shuffles with Math.random, which would give another teacher (and other accuracies) each run;
  // the IDX rows are in no class order, so batches in file order train as well.
  await model.fit(x, y, { epochs: 2, batchSize: 64, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
  await saveLayersModel(model, path.dirname(file));
  model.dispose();
}

async function saveUntrainedStudent(file: string): Promise<void> {
  const model = buildPreset({ preset: 'mlp', hidden: [256] }, [28, 28, 1], FASHION_CLASS_NAMES.length, SEED, 'student');
  await saveLayersModel(model, path.dirname(file));
  model.dispose();
}

/** Writes the workspace into `dir` (which must exist) and returns where its parts are. */
export async function createFashionWorkspace(dir: string): Promise<FashionWorkspace> {
  // PROD: no "install tfjs-node" banner and no debug checks; this process only makes fixtures.
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  const workspace: FashionWorkspace = {
    dir,
    configFile: 'fashion.distill.json',
    teacherModel: 'models/teacher-mlp/model.json',
    studentModel: 'models/student-mlp/model.json',
  };
  writeFashionConfig(dir);
  await trainTeacher(path.join(dir, workspace.teacherModel));
  await saveUntrainedStudent(path.join(dir, workspace.studentModel));
  return workspace;
}

/** Writes only the config (teacher and student as presets): enough for tests that never train. */
export function writeFashionConfig(dir: string): string {
  const file = path.join(dir, 'fashion.distill.json');
  fs.writeFileSync(file, configText());
  return file;
}
