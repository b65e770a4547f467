/**
 * An ONNX teacher (e.g. a PyTorch model from `torch.onnx.export`), run by onnxruntime-node. The rows are Distill's
 * (NHWC, after data.normalize); `teacher.preprocess` adapts them to what the teacher was trained on, and the layout
 * (NCHW for PyTorch, NHWC for TensorFlow) is read off the model's input shape unless `teacher.inputLayout` says.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type * as Ort from 'onnxruntime-node';
import type { ExecutionProvider, TeacherModelConfig } from '../../shared/config';
import type { ModelReport } from '../../shared/records';
import { DistillError, errorMessage } from '../../shared/errors';
import { describeOnnx, formatOnnxShape, OnnxFormatError, type OnnxDim, type OnnxModelInfo } from '../../shared/onnx';
import { BATCH1_ROUNDS, BATCH256_ROUNDS, latencyReport, timeRounds, type RoundPlan } from '../eval/latency';
import { modelFileBytes } from '../eval/modelBytes';
import { loadOnnxRuntime, onnxRuntimeVersion, type OnnxRuntime } from './onnxRuntime';
import { applyPreprocess, preprocessedShape } from './preprocess';
import { unknownLayerMessage, type Teacher, type TeacherFacts, type TeacherFeatures } from './types';

type Layout = 'NCHW' | 'NHWC' | 'NHW' | 'flat';

export interface OnnxTeacherOptions {
  /** One sample's shape as the data gives it (`[H, W, C]` or `[F]`). */
  inputShape: number[];
  numClasses: number;
  /** Rows per run of the model (when its batch dimension is dynamic). */
  batchSize: number;
  log(message: string): void;
}

const modelError = (file: string, message: string, field?: string) =>
  new DistillError('model', `ONNX teacher ${file}: ${message}`, { file, path: field ? ['teacher', field] : ['teacher', 'model'] });

/** Reads, checks and loads an ONNX teacher; every problem is one error naming the file and the fix. */
export async function openOnnxTeacher(cfg: TeacherModelConfig, opts: OnnxTeacherOptions): Promise<Teacher> {
  const file = cfg.model;
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new DistillError(
      'model',
      missing
        ? `teacher model file not found: ${file}. Check teacher.model in the config (relative paths start at the config's folder).`
        : `${file} cannot be read: ${errorMessage(e)}.`,
      { file, path: ['teacher', 'model'] },
    );
  }
  let info: OnnxModelInfo;
  try {
    info = describeOnnx(bytes);
  } catch (e) {
    if (!(e instanceof OnnxFormatError)) throw e;
    const looksJson = bytes.subarray(0, 64).toString('utf8').trimStart().startsWith('{');
    throw modelError(
      file,
      `is not an ONNX file (it does not parse as an ONNX ModelProto: ${e.message}).${looksJson ? ' It looks like JSON: a TensorFlow.js model must be named model.json.' : ''} Export the model with torch.onnx.export (see the README, "Teachers from PyTorch"), or check teacher.model.`,
    );
  }
  const ort = loadOnnxRuntime();
  const { session, provider, skipped } = await createSession(ort, file, info, cfg.executionProviders ?? ['cpu']);
  for (const s of skipped) opts.log(`ONNX Runtime: execution provider ${s.provider} unavailable (${s.reason}); trying the next.`);
  try {
    const io = resolveIo(session, cfg, opts, file);
    opts.log(
      `ONNX teacher: input "${io.input}" ${formatOnnxShape(io.inputDims)} (${io.layout}), output "${io.output}" ${formatOnnxShape(io.outputDims)}, opset ${info.opset ?? '?'}, ${onnxRuntimeVersion(ort)} on ${provider}.`,
    );
    return new OnnxTeacher(ort, session, cfg, info, io, provider, opts, crypto.createHash('sha256').update(bytes).digest('hex'));
  } catch (e) {
    await session.release();
    throw e;
  }
}

async function createSession(ort: OnnxRuntime, file: string, info: OnnxModelInfo, providers: readonly ExecutionProvider[]) {
  const skipped: { provider: string; reason: string }[] = [];
  for (const provider of providers) {
    try {
      const session = await ort.InferenceSession.create(file, { executionProviders: [provider], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
      return { session, provider, skipped };
    } catch (e) {
      const message = errorMessage(e);
      if (/opset/i.test(message) || /Protobuf parsing failed|ir_version|IR version/i.test(message)) throw loadError(file, info, message, ort);
      // A model whose operators the runtime lacks fails on every provider: say so once, not as an EP problem.
      if (/Could not find an implementation|not a registered function|Unrecognized attribute|Type Error|ShapeInferenceError/i.test(message))
        throw loadError(file, info, message, ort);
      skipped.push({ provider, reason: message.split('\n')[0].slice(0, 300) });
    }
  }
  const tried = skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ');
  throw new DistillError(
    'runtime',
    `ONNX teacher ${file}: no execution provider of teacher.executionProviders [${providers.join(', ')}] loads here (${tried}). Add "cpu" to teacher.executionProviders, or install ONNX Runtime with that provider (distill install onnx --cuda for CUDA).`,
    { file, path: ['teacher', 'executionProviders'] },
  );
}

function loadError(file: string, info: OnnxModelInfo, message: string, ort: OnnxRuntime): DistillError {
  const first = message
    .replace(/^Error: /, '')
    .split('\n')[0]
    .replace(/^Load model from \S+ failed:/, '')
    .replace(/\/onnxruntime_src\S+ [^)]*\)\s*/, '')
    .slice(0, 300);
  if (/opset/i.test(message)) {
    return modelError(
      file,
      `declares opset ${info.opset ?? '?'}${info.opsets.length > 1 ? ` (${info.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')})` : ''}, which ${onnxRuntimeVersion(ort)} cannot load: ${first}. Export it again with an opset the runtime supports (torch.onnx.export(..., opset_version=13..21)), or install a newer ONNX Runtime.`,
    );
  }
  return modelError(
    file,
    `${onnxRuntimeVersion(ort)} cannot load it: ${first}. Export the model again (torch.onnx.export with opset_version=13 or newer), or check that the file is complete.`,
  );
}

interface Io {
  input: string;
  output: string;
  layout: Layout;
  /** The model's input dims as declared, batch first. */
  inputDims: OnnxDim[];
  outputDims: OnnxDim[] | undefined;
  /** The dims fed, without batch. */
  feedShape: number[];
  /** A fixed batch size the model declares, if any. */
  fixedBatch?: number;
}

const dimsOf = (m: Ort.InferenceSession.ValueMetadata | undefined): OnnxDim[] | undefined =>
  m && m.isTensor ? m.shape.map((d) => (typeof d === 'number' ? (d < 0 ? null : d) : d || null)) : undefined;
const fits = (declared: OnnxDim, actual: number) => typeof declared !== 'number' || declared === actual;

function resolveIo(session: Ort.InferenceSession, cfg: TeacherModelConfig, opts: OnnxTeacherOptions, file: string): Io {
  const inputs = session.inputMetadata;
  const outputs = session.outputMetadata;
  const inputMeta = cfg.input ? inputs.find((i) => i.name === cfg.input) : inputs[0];
  if (!inputMeta) {
    throw modelError(file, `has no input named "${cfg.input}"; its inputs are ${inputs.map((i) => `"${i.name}"`).join(', ')}. Fix teacher.input.`, 'input');
  }
  if (inputs.length > 1) {
    throw modelError(
      file,
      `has ${inputs.length} inputs (${inputs.map((i) => `"${i.name}" ${formatOnnxShape(dimsOf(i))}`).join(', ')}); Distill feeds one, the images. Export the model with a single image input.`,
      'input',
    );
  }
  const sample = preprocessedShape(opts.inputShape, cfg.preprocess);
  const dims = dimsOf(inputMeta);
  const usable = `Distill feeds it rows of shape [${sample.join(', ')}] per sample${cfg.preprocess ? ' (after teacher.preprocess)' : ''}`;
  if (!inputMeta.isTensor || !dims || inputMeta.type !== 'float32') {
    throw modelError(
      file,
      `input "${inputMeta.name}" is ${inputMeta.isTensor ? `a ${inputMeta.type} tensor` : 'not a tensor'}, not float32 images or features: no input of a usable shape. ${usable}.`,
      'input',
    );
  }
  const { layout, feedShape } = chooseLayout(dims, sample, cfg.inputLayout ?? 'auto', file, usable);
  const outputMeta = cfg.output ? outputs.find((o) => o.name === cfg.output) : outputs[0];
  if (!outputMeta) {
    throw modelError(
      file,
      `has no output named "${cfg.output}"; its outputs are ${outputs.map((o) => `"${o.name}"`).join(', ')}. Fix teacher.output.`,
      'output',
    );
  }
  const outputDims = dimsOf(outputMeta);
  if (outputDims) checkOutputDims(outputDims, outputMeta.name, opts.numClasses, file);
  return {
    input: inputMeta.name,
    output: outputMeta.name,
    layout,
    inputDims: dims,
    outputDims,
    feedShape,
    fixedBatch: typeof dims[0] === 'number' && dims[0] > 0 ? dims[0] : undefined,
  };
}

function checkOutputDims(dims: readonly (number | string | null)[], name: string, classes: number, file: string): void {
  const shape = `[${dims.map((d) => d ?? '?').join(', ')}]`;
  if (dims.length !== 2) {
    throw modelError(
      file,
      `output "${name}" has shape ${shape}; Distill needs logits of shape [N, C] (one row of C class scores per sample). Choose another output with teacher.output, or export the model with a flat classifier output.`,
      'output',
    );
  }
  const c = dims[1];
  if (typeof c === 'number' && c !== classes) {
    throw modelError(
      file,
      `outputs ${c} classes (output "${name}" ${shape}), but the data has ${classes}. Use a teacher trained on these classes, or fix data.classNames.`,
      'output',
    );
  }
}

/** How Distill's NHWC sample `[H, W, C]` (or `[F]`) is fed to an input declared as `dims` (batch first). */
function chooseLayout(
  dims: OnnxDim[],
  sample: number[],
  wanted: 'auto' | 'NCHW' | 'NHWC',
  file: string,
  usable: string,
): { layout: Layout; feedShape: number[] } {
  const declared = formatOnnxShape(dims);
  const rest = dims.slice(1);
  const features = sample.reduce((a, b) => a * b, 1);
  const fail = (hint: string) => modelError(file, `input ${declared} has no usable shape: ${usable}. ${hint}`, 'inputLayout');
  if (rest.length === 1) {
    if (fits(rest[0], features)) return { layout: 'flat', feedShape: [features] };
    throw fail(`It takes ${rest[0]} features per sample. Set data.inputShape, or teacher.preprocess.resize, so that the sizes agree.`);
  }
  if (sample.length !== 3) throw fail(`It takes images; give data.inputShape as [height, width, channels].`);
  const [h, w, c] = sample;
  if (rest.length === 2) {
    if (c === 1 && fits(rest[0], h) && fits(rest[1], w)) return { layout: 'NHW', feedShape: [h, w] };
    throw fail(`It takes [N, H, W] single-channel images${typeof rest[0] === 'number' ? ` of ${rest[0]}×${rest[1]}` : ''}; set teacher.preprocess.resize.`);
  }
  if (rest.length !== 3) throw fail('Distill feeds images as [N, C, H, W] or [N, H, W, C], or flat features as [N, F].');
  const nchw = fits(rest[0], c) && fits(rest[1], h) && fits(rest[2], w);
  const nhwc = fits(rest[0], h) && fits(rest[1], w) && fits(rest[2], c);
  if (wanted === 'NCHW' || (wanted === 'auto' && nchw)) {
    if (!nchw) throw fail(`teacher.inputLayout is NCHW, so it wants [N, ${rest.join(', ')}] = C×H×W.${hintFor(rest[0], rest[1], rest[2], h, w, c)}`);
    return { layout: 'NCHW', feedShape: [c, h, w] };
  }
  if (wanted === 'NHWC' || nhwc) {
    if (!nhwc) throw fail(`teacher.inputLayout is NHWC, so it wants [N, ${rest.join(', ')}] = H×W×C.${hintFor(rest[2], rest[0], rest[1], h, w, c)}`);
    return { layout: 'NHWC', feedShape: [h, w, c] };
  }
  // Neither fits: guess which layout was meant from where a channel-like dimension (1 or 3) sits.
  const channelsFirst = typeof rest[0] === 'number' && rest[0] <= 4;
  const [mc, mh, mw] = channelsFirst ? [rest[0], rest[1], rest[2]] : [rest[2], rest[0], rest[1]];
  throw fail(`It looks ${channelsFirst ? 'channels-first (NCHW)' : 'channels-last (NHWC)'}: ${mc} channels of ${mh}×${mw}.${hintFor(mc, mh, mw, h, w, c)}`);
}

function hintFor(mc: OnnxDim, mh: OnnxDim, mw: OnnxDim, h: number, w: number, c: number): string {
  const hints: string[] = [];
  if (typeof mc === 'number' && mc !== c)
    hints.push(mc === 3 && c === 1 ? 'set teacher.preprocess.channels to 3 (repeats the grayscale channel)' : `give data with ${mc} channels`);
  if ((typeof mh === 'number' && mh !== h) || (typeof mw === 'number' && mw !== w)) hints.push(`set teacher.preprocess.resize to [${mh}, ${mw}]`);
  return hints.length ? ` To fix: ${hints.join(', and ')}.` : '';
}

class OnnxTeacher implements Teacher {
  readonly describe: string;
  readonly cacheKey: string;

  constructor(
    private readonly ort: OnnxRuntime,
    private readonly session: Ort.InferenceSession,
    private readonly cfg: TeacherModelConfig,
    private readonly info: OnnxModelInfo,
    private readonly io: Io,
    private readonly provider: string,
    private readonly opts: OnnxTeacherOptions,
    fileHash: string,
  ) {
    this.describe = `${cfg.model} (ONNX, ${onnxRuntimeVersion(ort)}, ${provider})`;
    // The provider is left out: CPU and GPU give the same logits to float tolerance, and a cache hit is worth more.
    this.cacheKey = `onnx:${fileHash}:${JSON.stringify({ preprocess: cfg.preprocess ?? null, input: io.input, output: io.output, layout: io.layout })}`;
  }

  async outputs(_split: string, rows: () => tf.Tensor): Promise<Float32Array> {
    const x = rows();
    const n = x.shape[0];
    const batch = this.io.fixedBatch ?? this.opts.batchSize;
    const classes = this.opts.numClasses;
    const out = new Float32Array(n * classes);
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const feed = tf.tidy(() => this.toFeed(tf.slice(x, start, count)));
      const data = (await feed.data()) as Float32Array;
      feed.dispose();
      const logits = await this.run(data, count);
      out.set(logits.subarray(0, count * classes), start * classes);
    }
    return out;
  }

  /** Rows in the model's layout. */
  private toFeed(x: tf.Tensor): tf.Tensor {
    const pre = applyPreprocess(x, this.cfg.preprocess);
    if (this.io.layout === 'NCHW') return tf.transpose(pre, [0, 3, 1, 2]);
    return pre;
  }

  /** One run of the model on `count` rows (padded to a fixed batch when the model has one); `[count, C]` logits. */
  private async run(data: Float32Array, count: number): Promise<Float32Array> {
    const per = this.io.feedShape.reduce((a, b) => a * b, 1);
    const batch = this.io.fixedBatch ?? count;
    const input = batch === count ? data : padded(data, batch * per);
    const tensor = new this.ort.Tensor('float32', input, [batch, ...this.io.feedShape]);
    let result: Ort.InferenceSession.OnnxValueMapType;
    try {
      result = await this.session.run({ [this.io.input]: tensor }, [this.io.output]);
    } catch (e) {
      throw modelError(
        this.cfg.model,
        `failed on a batch of ${batch} rows of shape [${this.io.feedShape.join(', ')}] (${this.io.layout}): ${errorMessage(e).split('\n')[0].slice(0, 300)}. Check teacher.inputLayout and teacher.preprocess.`,
      );
    } finally {
      tensor.dispose();
    }
    const y = result[this.io.output] as Ort.Tensor;
    try {
      const dims = y.dims.map(Number);
      checkOutputDims(dims, this.io.output, this.opts.numClasses, this.cfg.model);
      if (dims[0] !== batch)
        throw modelError(
          this.cfg.model,
          `output "${this.io.output}" has ${dims[0]} rows for a batch of ${batch}. Export the model with the batch as the first output dimension.`,
          'output',
        );
      if (y.type !== 'float32') throw modelError(this.cfg.model, `output "${this.io.output}" is ${y.type}; Distill needs float32 logits.`, 'output');
      return (y.data as Float32Array).slice(0, count * this.opts.numClasses);
    } finally {
      y.dispose();
    }
  }

  /**
   * Graph outputs by name (ONNX Runtime returns graph outputs only: export the features as extra outputs, e.g. a
   * forward that returns (logits, features) with torch.onnx.export(..., output_names=[...])). 4-D outputs are taken
   * to be in the input's layout and come back channels-last.
   */
  features(names: string[], pairs: number[] = names.map((_, k) => k)): TeacherFeatures {
    const file = this.cfg.model;
    const available = [...this.session.outputNames];
    names.forEach((n, i) => {
      if (!available.includes(n)) {
        throw new DistillError(
          'config',
          `${unknownLayerMessage('teacher', pairs[i], n, available, `ONNX model ${file}`)} ONNX Runtime returns graph outputs only: export the feature as an extra output of the model.`,
          { file, path: ['distillation', 'features', String(pairs[i]), 'teacher'] },
        );
      }
    });
    const unique = [...new Set(names)];
    const batchOf = this.io.fixedBatch;
    return {
      compute: async (x) => {
        // A model with a fixed batch runs on chunks of it (the last one padded); else on the whole batch at once.
        const step = batchOf ?? x.shape[0];
        const chunks: tf.Tensor[][] = [];
        try {
          for (let start = 0; start < x.shape[0]; start += step) {
            const part = tf.slice(x, start, Math.min(step, x.shape[0] - start));
            try {
              chunks.push(await this.featureChunk(part, unique));
            } finally {
              part.dispose();
            }
          }
          const joined = unique.map((_, k) => (chunks.length === 1 ? chunks[0][k] : tf.concat(chunks.map((c) => c[k]))));
          if (chunks.length > 1) chunks.forEach((c) => tf.dispose(c));
          return names.map((n, i) => (names.indexOf(n) === i ? joined[unique.indexOf(n)] : joined[unique.indexOf(n)].clone()));
        } catch (e) {
          chunks.forEach((c) => tf.dispose(c));
          throw e;
        }
      },
      dispose: () => {},
    };
  }

  /** The named outputs for at most one (fixed) batch of rows, channels-last. */
  private async featureChunk(x: tf.Tensor, names: string[]): Promise<tf.Tensor[]> {
    const file = this.cfg.model;
    const count = x.shape[0];
    const batch = this.io.fixedBatch ?? count;
    const feed = tf.tidy(() => this.toFeed(x));
    const data = (await feed.data()) as Float32Array;
    feed.dispose();
    const per = this.io.feedShape.reduce((a, b) => a * b, 1);
    const tensor = new this.ort.Tensor('float32', batch === count ? data : padded(data, batch * per), [batch, ...this.io.feedShape]);
    let result: Ort.InferenceSession.OnnxValueMapType;
    try {
      result = await this.session.run({ [this.io.input]: tensor }, names);
    } catch (e) {
      throw modelError(
        file,
        `failed computing the outputs ${names.map((n) => `"${n}"`).join(', ')} for distillation.features: ${errorMessage(e).split('\n')[0].slice(0, 300)}.`,
      );
    } finally {
      tensor.dispose();
    }
    const out: tf.Tensor[] = [];
    try {
      for (const name of names) {
        const y = result[name] as Ort.Tensor;
        const dims = y.dims.map(Number);
        if (y.type !== 'float32') throw modelError(file, `output "${name}" is ${y.type}; distillation.features needs float32 features.`);
        if (dims[0] !== batch)
          throw modelError(
            file,
            `output "${name}" has ${dims[0]} rows for a batch of ${batch}. Export the model with the batch as the first dimension of every output.`,
          );
        out.push(
          tf.tidy(() => {
            const all = tf.tensor(y.data as Float32Array, dims);
            const rows = batch === count ? all : tf.slice(all, 0, count);
            return rows.rank === 4 && this.io.layout === 'NCHW' ? tf.transpose(rows, [0, 2, 3, 1]) : rows.clone();
          }),
        );
      }
      return out;
    } catch (e) {
      tf.dispose(out);
      throw e;
    } finally {
      for (const name of Object.keys(result)) result[name].dispose();
    }
  }

  async facts(latency: boolean): Promise<TeacherFacts> {
    return {
      params: this.info.params,
      sizeBytes: this.info.weightBytes,
      ...modelFileBytes(this.cfg.model),
      runtime: `${onnxRuntimeVersion(this.ort)} (${this.provider})`,
      latencyMs: latency ? await this.measureLatency() : undefined,
    };
  }

  /** Per-sample time of a model run at batch 1 and 256 (or its fixed batch), in rounds after a warm-up, input already in layout. */
  private async measureLatency(): Promise<NonNullable<ModelReport['latencyMs']>> {
    const per = this.io.feedShape.reduce((a, b) => a * b, 1);
    const time = async (rows: number, plan: RoundPlan) => {
      const data = new Float32Array(rows * per).fill(0.5);
      const tensor = new this.ort.Tensor('float32', data, [rows, ...this.io.feedShape]);
      try {
        return await timeRounds(
          async () => {
            const r = await this.session.run({ [this.io.input]: tensor }, [this.io.output]);
            r[this.io.output].dispose();
          },
          rows,
          plan,
        );
      } finally {
        tensor.dispose();
      }
    };
    if (this.io.fixedBatch) {
      const spread = await time(this.io.fixedBatch, BATCH256_ROUNDS);
      return latencyReport(spread, spread);
    }
    return latencyReport(await time(1, BATCH1_ROUNDS), await time(256, BATCH256_ROUNDS));
  }

  dispose(): void {
    void this.session.release();
  }
}

function padded(data: Float32Array, length: number): Float32Array {
  const out = new Float32Array(length);
  out.set(data);
  return out;
}
