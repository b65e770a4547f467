/**
 * Exports a run's trained student (T = 1) for deployment: as the tfjs model it is, or converted to ONNX. An ONNX
 * export is checked before it is reported: onnxruntime-node runs it on the run's test split and its logits must be
 * the tfjs student's within 1e-4, or nothing is written. Used by `distill export` and, through the CLI, by the
 * extension's Export Student; a reusable module for later exporters (compression stages, self-describing folders).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { DistillConfig } from '../../shared/config';
import { DistillError } from '../../shared/errors';
import { readJson, RUN_FILES, writeFileAtomic } from '../../shared/runDir';
import { selectBackend } from '../backends/ladder';
import { loadDataset } from '../data';
import { loadStudentModel, predictLogits } from '../models/modelFiles';
import { loadOnnxRuntime, onnxRuntimeVersion } from '../teachers/onnxRuntime';
import { EXPORT_OPSET, studentToOnnx } from './onnxStudent';

export const EXPORT_FORMATS = ['onnx', 'tfjs'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The parity bound: float32 logits of the same weights, summed in another order by another runtime. */
export const PARITY_TOLERANCE = 1e-4;

export interface ExportOptions {
  format: ExportFormat;
  /** The file (onnx) or folder (tfjs) to write. */
  out: string;
  /** Replace `out` when it exists. */
  overwrite?: boolean;
  log?: (message: string) => void;
}

export interface ExportResult {
  format: ExportFormat;
  out: string;
  bytes: number;
  /** ONNX: the check against the tfjs student. */
  parity?: { rows: number; maxAbsDiff: number; tolerance: number; runtime: string };
  opset?: number;
}

/** Where `distill export` writes when `--out` is not given: `<runId>-student.onnx` or `<runId>-student/` in `cwd`. */
export function defaultExportPath(runDir: string, format: ExportFormat, cwd = process.cwd()): string {
  return path.join(cwd, `${path.basename(path.resolve(runDir))}-student${format === 'onnx' ? '.onnx' : ''}`);
}

export async function exportStudent(runDir: string, options: ExportOptions): Promise<ExportResult> {
  const log = options.log ?? (() => undefined);
  const modelFile = path.join(runDir, RUN_FILES.student, 'model.json');
  if (!fs.existsSync(modelFile)) {
    throw new DistillError(
      'usage',
      `${runDir} has no trained student (${modelFile} is missing). Only a completed run exports a student; check the run directory.`,
      { file: runDir },
    );
  }
  const out = path.resolve(options.out);
  if (fs.existsSync(out) && !options.overwrite) {
    throw new DistillError('usage', `${out} already exists. Choose another --out, or pass --force to replace it.`, { file: out });
  }
  if (options.format === 'tfjs') {
    const tmp = `${out}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.cpSync(path.dirname(modelFile), tmp, { recursive: true });
    fs.rmSync(out, { recursive: true, force: true });
    fs.renameSync(tmp, out);
    const bytes = fs.readdirSync(out).reduce((s, f) => s + fs.statSync(path.join(out, f)).size, 0);
    return { format: 'tfjs', out, bytes };
  }

  const config = readJson<DistillConfig>(path.join(runDir, RUN_FILES.config));
  if (!config)
    throw new DistillError('usage', `${runDir} has no ${RUN_FILES.config}; the parity check needs the run's data. Is it a Distill run directory?`, {
      file: runDir,
    });
  const ort = loadOnnxRuntime();
  await selectBackend('wasm').catch(() => selectBackend('cpu'));
  const student = await loadStudentModel(modelFile);
  let xTest: tf.Tensor | undefined;
  try {
    log(`Converting the student (${student.layers.length} layers) to ONNX, opset ${EXPORT_OPSET}…`);
    const bytes = studentToOnnx(student, { name: `${path.basename(runDir)}-student` });

    log('Checking the ONNX student against the tfjs student on the test split…');
    const dataset = await loadDataset(config.data, log, { cacheDir: config.output.cacheDir, warn: log });
    xTest = tf.tensor(dataset.test.x, [dataset.test.count, ...dataset.inputShape]);
    const expected = await predictLogits({ kind: 'layers', model: student }, xTest, 512);
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], logSeverityLevel: 3 });
    const per = dataset.inputShape.reduce((a, b) => a * b, 1);
    const classes = expected.length / dataset.test.count;
    let maxAbsDiff = 0;
    try {
      for (let start = 0; start < dataset.test.count; start += 512) {
        const rows = Math.min(512, dataset.test.count - start);
        const input = new ort.Tensor('float32', dataset.test.x.subarray(start * per, (start + rows) * per), [rows, ...dataset.inputShape]);
        const result = await session.run({ input });
        const got = result.logits.data as Float32Array;
        // A NaN stays NaN through Math.max, and fails the check below.
        for (let i = 0; i < rows * classes; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[i] - expected[start * classes + i]));
        result.logits.dispose();
        input.dispose();
      }
    } finally {
      await session.release();
    }
    const runtime = onnxRuntimeVersion(ort);
    if (!(maxAbsDiff <= PARITY_TOLERANCE)) {
      throw new DistillError(
        'model',
        `The ONNX student does not match the tfjs student: its logits differ by up to ${maxAbsDiff.toExponential(2)} on the ${dataset.test.count} test rows (${runtime}), over the ${PARITY_TOLERANCE} allowed. Nothing was written; export as tfjs (--format tfjs), and please report this with the run's student/model.json.`,
        { file: modelFile },
      );
    }
    fs.mkdirSync(path.dirname(out), { recursive: true });
    writeFileAtomic(out, Buffer.from(bytes));
    return {
      format: 'onnx',
      out,
      bytes: bytes.length,
      opset: EXPORT_OPSET,
      parity: { rows: dataset.test.count, maxAbsDiff, tolerance: PARITY_TOLERANCE, runtime },
    };
  } finally {
    xTest?.dispose();
    student.dispose();
  }
}
