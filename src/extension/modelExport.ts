/**
 * Exporting a trained model out of its run as a self-describing folder: the tfjs model (model.json + weights, T = 1)
 * beside `distill-model.json` (what it expects and predicts: input shape, class names, the input scaling, where it
 * came from and how it scored) and a README on loading it in TensorFlow.js. Node only (fs); no vscode, no tfjs, so
 * unit tests run it in plain Node. The extension's Export Student calls it (the CLI's `distill export` is
 * src/engine/export/). Other formats (ONNX, compressed stages) add files to the same folder
 * through `extraFiles`, so one folder describes every form of the model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DistillConfig } from '../shared/config';
import type { InputSpec, ModelReport, Summary } from '../shared/records';
import { readJson, RUN_FILES } from '../shared/runDir';
import { modelName } from '../shared/format';
import { runDisplayName } from '../shared/runName';

export type ExportableModel = 'student' | 'baseline';

/** `distill-model.json`: everything needed to use the model without its run. */
export interface ExportedModelInfo {
  format: 'tfjs-layers';
  /** The model file inside the folder. */
  model: 'model.json';
  role: ExportableModel;
  /** A compression stage of the student (`prune`, `quantize`, …), when the export is one. */
  stage?: string;
  /** Outputs are logits: softmax(logits) at T = 1 gives the class probabilities. */
  outputs: 'logits';
  inputShape?: number[];
  classNames?: string[];
  /** Applied to raw features before the model: `(x - shift[i]) * scale[i]`; `scale255` is x / 255; `none` nothing. */
  normalization?: InputSpec['normalization'];
  source: { runId: string; runName: string; runDir: string; exportedAt: string };
  /** Test-split figures of the run's report, when it completed. */
  test?: Pick<ModelReport, 'accuracy' | 'macroF1' | 'params' | 'sizeBytes'> & { samples: number };
  /** Other forms of the model written into the folder (e.g. `model.onnx`), by their file name. */
  files: string[];
}

export class ExportTargetExists extends Error {
  constructor(readonly target: string) {
    super(`${target} already exists.`);
    this.name = 'ExportTargetExists';
  }
}

export interface ExportOptions {
  runDir: string;
  role?: ExportableModel;
  /** A compression stage: its model folder, and its name (the export folder is `<runId>-<stage>`). */
  stage?: string;
  sourceDir?: string;
  /** The folder to create the export folder in. */
  targetParent: string;
  overwrite?: boolean;
  /** Writers of other forms of the model, each given the finished folder; they return the file names they wrote. */
  extraFiles?: ((folder: string, info: ExportedModelInfo) => Promise<string[]>)[];
}

export const modelDirOf = (runDir: string, role: ExportableModel = 'student') => path.join(runDir, role === 'student' ? RUN_FILES.student : RUN_FILES.baseline);
export const hasExportableModel = (runDir: string, role: ExportableModel = 'student') => fs.existsSync(path.join(modelDirOf(runDir, role), 'model.json'));

/** What the product calls the model of a role: `KD student`, `scratch student`. */
const roleName = (role: ExportableModel): string => modelName(role === 'student' ? 'kd' : 'baseline');

/** Writes `<targetParent>/<runId>-<role>/` and returns its path. Nothing is written when the model is missing. */
export async function exportModelFolder(options: ExportOptions): Promise<string> {
  const { runDir, targetParent } = options;
  const role = options.role ?? 'student';
  const runId = path.basename(runDir);
  const source = options.sourceDir ?? modelDirOf(runDir, role);
  if (!fs.existsSync(path.join(source, 'model.json'))) {
    const name = roleName(role);
    throw new Error(`Run ${runId} has no ${name} (${path.join(source, 'model.json')} is missing). Only a completed run exports its ${name}.`);
  }
  const target = path.join(targetParent, `${runId}-${options.stage ?? role}`);
  if (fs.existsSync(target)) {
    if (!options.overwrite) throw new ExportTargetExists(target);
    await fs.promises.rm(target, { recursive: true, force: true });
  }
  // Written next to the target and renamed into place: a failed export leaves no half folder behind.
  const tmp = `${target}.exporting`;
  await fs.promises.rm(tmp, { recursive: true, force: true });
  await fs.promises.mkdir(targetParent, { recursive: true });
  await fs.promises.cp(source, tmp, { recursive: true, errorOnExist: true, force: false });
  try {
    const info = describeExport(runDir, role);
    // A stage's own figures are in the report card's compression rows, not the student's: leave them out here.
    if (options.stage) Object.assign(info, { stage: options.stage, test: undefined });
    for (const write of options.extraFiles ?? []) info.files.push(...(await write(tmp, info)));
    fs.writeFileSync(path.join(tmp, 'distill-model.json'), JSON.stringify(info, null, 2) + '\n');
    fs.writeFileSync(path.join(tmp, 'README.md'), exportReadme(info));
    await fs.promises.rename(tmp, target);
  } catch (e) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return target;
}

export function describeExport(runDir: string, role: ExportableModel): ExportedModelInfo {
  const config = readJson<DistillConfig>(path.join(runDir, RUN_FILES.config));
  const input = readJson<InputSpec>(path.join(runDir, RUN_FILES.input));
  const summary = readJson<Summary>(path.join(runDir, RUN_FILES.summary));
  const report = role === 'student' ? summary?.student : summary?.baseline;
  const runId = path.basename(runDir);
  return {
    format: 'tfjs-layers',
    model: 'model.json',
    role,
    outputs: 'logits',
    inputShape: input?.inputShape ?? config?.data.inputShape,
    classNames: input?.classNames ?? summary?.classNames ?? config?.data.classNames,
    normalization: input?.normalization,
    source: { runId, runName: runDisplayName({ runId, config }), runDir, exportedAt: new Date().toISOString() },
    test:
      report && summary
        ? { accuracy: report.accuracy, macroF1: report.macroF1, params: report.params, sizeBytes: report.sizeBytes, samples: summary.testSamples }
        : undefined,
    files: [],
  };
}

function normalizationText(n: ExportedModelInfo['normalization']): string {
  switch (n?.method) {
    case undefined:
      return 'Unknown (the run predates `input.json`): use the scaling the training data had.';
    case 'none':
      return 'None: feed the features as stored.';
    case 'scale255':
      return 'Divide each pixel (0–255) by 255.';
    default:
      return `${n?.method === 'minmax' ? 'Min–max' : 'Standard'} scaling per feature: \`(x[i] - shift[i]) * scale[i]\`, with \`shift\` and \`scale\` in \`distill-model.json\`.`;
  }
}

export function exportReadme(info: ExportedModelInfo): string {
  const shape = info.inputShape ? `[${info.inputShape.join(', ')}]` : '(the training data\u2019s sample shape)';
  const classes = info.classNames?.length ? info.classNames.map((c, i) => `${i}: ${c}`).join(', ') : '(class indices)';
  const scaled = info.normalization?.method === 'scale255' ? 'tf.div(tf.tensor(pixels, [1, ...inputShape]), 255)' : 'tf.tensor(features, [1, ...inputShape])';
  return `# ${info.source.runName} \u2014 ${roleName(info.role)}${info.stage ? `, ${info.stage} stage` : ''}

Exported by Distill from run \`${info.source.runId}\`${info.test ? `: ${(info.test.accuracy * 100).toFixed(1)}% accuracy on ${info.test.samples.toLocaleString('en-US')} test samples, ${info.test.params?.toLocaleString('en-US') ?? '?'} parameters` : ''}.

- \`model.json\` + weights: a TensorFlow.js LayersModel. It outputs **logits**; softmax at T = 1 gives probabilities.
- Input: one sample is ${shape}; a batch is \`[N, ...shape]\`, float32.
- Scaling: ${normalizationText(info.normalization)}
- Classes (index: name): ${classes}
- \`distill-model.json\`: the same, as JSON${info.files.length ? `; other forms: ${info.files.map((f) => `\`${f}\``).join(', ')}` : ''}.

## Load it in TensorFlow.js

\`\`\`js
const tf = require('@tensorflow/tfjs');            // in the browser: import * as tf from '@tensorflow/tfjs'
const info = require('./distill-model.json');
const model = await tf.loadLayersModel('file://' + __dirname + '/model.json');   // tfjs-node; in a browser, a URL
const inputShape = info.inputShape;
const x = ${scaled};
const probabilities = tf.softmax(model.predict(x));
const best = (await probabilities.argMax(-1).data())[0];
console.log(info.classNames?.[best] ?? best);
\`\`\`

Plain \`@tensorflow/tfjs\` has no \`file://\` loader in Node: use \`@tensorflow/tfjs-node\`, or serve the folder and load it by URL.
`;
}
