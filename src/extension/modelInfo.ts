/**
 * What a model file on disk is, read from its metadata only: a TensorFlow.js `model.json` (LayersModel or
 * GraphModel) or a teacher-logits file (`.npy`, `.jsonl`). Nothing here loads a model or runs code from the file; the
 * extension host describes the files it discovers with this, and stays free of tfjs.
 * Node only (fs); no vscode, no tfjs.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { formatBytes, formatCount } from '../shared/format';
import { isNpyProblem, readNpyHeader, type NpyHeaderProblem } from '../shared/npyHeader';
import { describeOnnx, formatOnnxShape, OnnxFormatError } from '../shared/onnx';

export interface TfjsModelInfo {
  kind: 'tfjs-model';
  file: string;
  /** `layers`: a Keras/LayersModel, trainable, usable as teacher or student. `graph`: inference only, teacher only. */
  format: 'layers' | 'graph';
  /** One sample's shape (batch dimension dropped); `null` for a dimension the file leaves open. */
  inputShape?: (number | null)[];
  /** Width of the (first) output: the number of classes. */
  classes?: number;
  /** Every weight in the manifest, trainable or not (batch-norm statistics count too). */
  params: number;
  /** Bytes of the weight shards that exist on disk. */
  weightBytes: number;
  missingShards: string[];
  /** Layer count (Layers) or graph node count (Graph). */
  layers?: number;
  /** Whether the last layer applies softmax: Distill expects logits, so such a model needs its softmax removed. */
  endsInSoftmax: boolean;
  generatedBy?: string;
}

export interface LogitsFileInfo {
  kind: 'logits';
  file: string;
  format: 'npy' | 'jsonl';
  rows: number;
  classes: number;
  /** numpy dtype descriptor (`<f4`), for `.npy`. */
  dtype?: string;
}

export interface OnnxFileInfo {
  kind: 'onnx-model';
  file: string;
  /** Version of the ai.onnx opset. */
  opset?: number;
  producer: string;
  inputs: { name: string; shape?: (number | string | null)[]; elemType?: string }[];
  outputs: { name: string; shape?: (number | string | null)[]; elemType?: string }[];
  params: number;
  weightBytes: number;
  nodes: number;
}

export type ModelFileInfo = TfjsModelInfo | LogitsFileInfo | OnnxFileInfo;

/** A file that was found but cannot serve as a model, and why, in words a user can act on. */
export interface NotAModel {
  kind: 'invalid';
  file: string;
  reason: string;
}

// ---------------------------------------------------------------- tfjs model.json

interface WeightEntry {
  name?: string;
  shape?: number[];
  dtype?: string;
}

interface ModelJson {
  format?: string;
  generatedBy?: string;
  modelTopology?: Record<string, unknown>;
  weightsManifest?: { paths?: string[]; weights?: WeightEntry[] }[];
  signature?: { inputs?: Record<string, TensorInfo>; outputs?: Record<string, TensorInfo> };
}

interface TensorInfo {
  tensorShape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
}

interface KerasLayer {
  class_name?: string;
  name?: string;
  config?: Record<string, unknown> & { name?: string; layers?: KerasLayer[] };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Shape with its batch dimension dropped; -1 and null become null. */
const sampleShape = (dims: unknown[]): (number | null)[] => dims.slice(1).map((d) => (typeof d === 'number' && d >= 0 ? d : null));

/** The Keras model config, whether tfjs saved it (`{class_name, config}`) or the Python converter did (`model_config`). */
function kerasModel(topology: Record<string, unknown>): KerasLayer | undefined {
  const root = isRecord(topology.model_config) ? topology.model_config : topology;
  return isRecord(root.config) ? root : undefined;
}

function layersOf(model: KerasLayer): KerasLayer[] {
  const layers = model.config?.layers;
  return Array.isArray(layers) ? layers.filter(isRecord) : [];
}

function batchInputShape(layer: KerasLayer | undefined): unknown[] | undefined {
  const c = layer?.config;
  if (!c) return undefined;
  // tfjs and Keras 2 write batch_input_shape; Keras 3 writes batch_shape.
  const shape = c.batch_input_shape ?? c.batchInputShape ?? c.batch_shape;
  return Array.isArray(shape) ? shape : undefined;
}

function describeLayers(model: KerasLayer): Pick<TfjsModelInfo, 'inputShape' | 'classes' | 'layers' | 'endsInSoftmax'> {
  const layers = layersOf(model);
  const config = model.config ?? {};
  // Functional models name their input and output layers; Sequential models are in order.
  const layerNamed = (name: unknown) => layers.find((l) => (l.config?.name ?? l.name) === name);
  const inputName = Array.isArray(config.input_layers) && Array.isArray(config.input_layers[0]) ? config.input_layers[0][0] : undefined;
  const outputName = Array.isArray(config.output_layers) && Array.isArray(config.output_layers[0]) ? config.output_layers[0][0] : undefined;
  const first = (inputName !== undefined ? layerNamed(inputName) : undefined) ?? layers.find((l) => batchInputShape(l)) ?? layers[0];
  const namedOutput = outputName !== undefined ? layerNamed(outputName) : undefined;
  const lastIndex = namedOutput ? layers.indexOf(namedOutput) : layers.length - 1;
  const last = layers[lastIndex];
  const inShape = batchInputShape(first);

  // The output width: the last layer with `units`, looking back past shape-preserving layers (Activation, Softmax).
  let classes: number | undefined;
  for (let i = lastIndex; i >= 0 && classes === undefined; i--) {
    const units = layers[i]?.config?.units;
    if (typeof units === 'number') classes = units;
  }
  const activation = last?.config?.activation;
  const endsInSoftmax = last?.class_name === 'Softmax' || activation === 'softmax';
  return {
    inputShape: inShape ? sampleShape(inShape) : undefined,
    classes,
    layers: layers.filter((l) => l.class_name !== 'InputLayer').length,
    endsInSoftmax,
  };
}

function tensorShape(info: TensorInfo | undefined): (number | null)[] | undefined {
  const dims = info?.tensorShape?.dim;
  if (!Array.isArray(dims)) return undefined;
  return sampleShape(dims.map((d) => Number(d.size ?? -1)));
}

function describeGraph(json: ModelJson): Pick<TfjsModelInfo, 'inputShape' | 'classes' | 'layers' | 'endsInSoftmax'> {
  const nodes = Array.isArray(json.modelTopology?.node) ? (json.modelTopology.node as Record<string, unknown>[]) : [];
  const sigInput = Object.values(json.signature?.inputs ?? {})[0];
  const sigOutput = Object.values(json.signature?.outputs ?? {})[0];
  let inputShape = tensorShape(sigInput);
  if (!inputShape) {
    // No signature (older converters): the first Placeholder node carries the shape.
    const placeholder = nodes.find((n) => n.op === 'Placeholder');
    const dims = (placeholder?.attr as { shape?: { shape?: { dim?: { size?: string }[] } } } | undefined)?.shape?.shape?.dim;
    if (Array.isArray(dims)) inputShape = sampleShape(dims.map((d) => Number(d.size ?? -1)));
  }
  const outShape = tensorShape(sigOutput);
  const classes = outShape?.length ? (outShape[outShape.length - 1] ?? undefined) : undefined;
  const outputNode = nodes[nodes.length - 1];
  return { inputShape, classes, layers: nodes.length || undefined, endsInSoftmax: outputNode?.op === 'Softmax' };
}

const elements = (shape: number[] | undefined) => (shape ?? []).reduce((n, d) => n * d, 1);

/** Describe a tfjs `model.json` from its metadata and the sizes of its shards. */
export async function describeTfjsModel(file: string): Promise<TfjsModelInfo | NotAModel> {
  let json: ModelJson;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8')) as ModelJson;
  } catch (e) {
    return { kind: 'invalid', file, reason: `not readable as JSON (${(e as Error).message})` };
  }
  if (!isRecord(json) || !isRecord(json.modelTopology) || !Array.isArray(json.weightsManifest)) {
    return {
      kind: 'invalid',
      file,
      reason: 'no modelTopology or weightsManifest: not a TensorFlow.js model.json (convert the model with tensorflowjs_converter)',
    };
  }
  const isGraph = json.format === 'graph-model' || Array.isArray(json.modelTopology.node);
  let shape: Pick<TfjsModelInfo, 'inputShape' | 'classes' | 'layers' | 'endsInSoftmax'>;
  if (isGraph) shape = describeGraph(json);
  else {
    const model = kerasModel(json.modelTopology);
    if (!model) return { kind: 'invalid', file, reason: 'modelTopology has no Keras model config: not a LayersModel or GraphModel' };
    shape = describeLayers(model);
  }

  const weights = json.weightsManifest.flatMap((g) => g.weights ?? []);
  const shards = json.weightsManifest.flatMap((g) => g.paths ?? []);
  let weightBytes = 0;
  const missingShards: string[] = [];
  for (const shard of shards) {
    try {
      weightBytes += (await fs.stat(path.join(path.dirname(file), shard))).size;
    } catch {
      missingShards.push(shard);
    }
  }
  return {
    kind: 'tfjs-model',
    file,
    format: isGraph ? 'graph' : 'layers',
    ...shape,
    params: weights.reduce((n, w) => n + elements(w.shape), 0),
    weightBytes,
    missingShards,
    generatedBy: typeof json.generatedBy === 'string' ? json.generatedBy : undefined,
  };
}

// ---------------------------------------------------------------- teacher logits

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

const FLOAT_DTYPES = /^[<>=|]?f[248]$/;

/** A tooltip's words for a `.npy` header that cannot be read. */
const NPY_PROBLEMS: Record<NpyHeaderProblem['problem'], string> = {
  'not-npy': 'not a .npy file (the magic string \\x93NUMPY is missing)',
  version: 'a .npy format version other than 1 to 3',
  truncated: 'the .npy header is truncated',
  'no-descr': 'the .npy header has no plain dtype (descr)',
  unreadable: 'the .npy header has no shape or fortran_order',
  'bad-shape': 'the .npy header has an unreadable shape',
};

async function describeNpyLogits(file: string): Promise<LogitsFileInfo | NotAModel> {
  let head: ReturnType<typeof readNpyHeader>;
  try {
    head = readNpyHeader(await readHead(file, 4096));
  } catch (e) {
    return { kind: 'invalid', file, reason: (e as Error).message };
  }
  if (isNpyProblem(head)) return { kind: 'invalid', file, reason: NPY_PROBLEMS[head.problem] };
  const header = { dtype: head.descr, shape: head.shape };
  if (header.shape.length !== 2)
    return { kind: 'invalid', file, reason: `teacher logits must be 2-D [rows, classes]; this array is [${header.shape.join(', ')}]` };
  if (!FLOAT_DTYPES.test(header.dtype)) return { kind: 'invalid', file, reason: `teacher logits must be floating point; this array is ${header.dtype}` };
  return { kind: 'logits', file, format: 'npy', rows: header.shape[0], classes: header.shape[1], dtype: header.dtype };
}

async function describeJsonlLogits(file: string): Promise<LogitsFileInfo | NotAModel> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    return { kind: 'invalid', file, reason: (e as Error).message };
  }
  const lines = text.split('\n').filter((l) => l.trim());
  let first: unknown;
  try {
    first = JSON.parse(lines[0] ?? '');
  } catch {
    return { kind: 'invalid', file, reason: 'the first line is not JSON; teacher logits are one JSON array of numbers per line' };
  }
  if (!Array.isArray(first) || first.length < 2 || !first.every((v) => typeof v === 'number')) {
    return { kind: 'invalid', file, reason: 'the first line is not an array of numbers; teacher logits are one array of class logits per line' };
  }
  return { kind: 'logits', file, format: 'jsonl', rows: lines.length, classes: first.length };
}

/** Describe a discovered file: a tfjs model.json, or teacher logits (`.npy`, `.jsonl`). */
export async function describeModelFile(file: string): Promise<ModelFileInfo | NotAModel> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return describeTfjsModel(file);
  if (ext === '.npy') return describeNpyLogits(file);
  if (ext === '.jsonl') return describeJsonlLogits(file);
  if (ext === '.onnx') return describeOnnxFile(file);
  return { kind: 'invalid', file, reason: 'not a model.json, .onnx, .npy or .jsonl file' };
}

async function describeOnnxFile(file: string): Promise<OnnxFileInfo | NotAModel> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    return { kind: 'invalid', file, reason: `cannot be read (${(e as Error).message})` };
  }
  try {
    const info = describeOnnx(bytes);
    return {
      kind: 'onnx-model',
      file,
      opset: info.opset,
      producer: info.producer,
      inputs: info.inputs,
      outputs: info.outputs,
      params: info.params,
      weightBytes: info.weightBytes,
      nodes: info.nodes,
    };
  } catch (e) {
    if (e instanceof OnnxFormatError) return { kind: 'invalid', file, reason: `not an ONNX model (${e.message})` };
    throw e;
  }
}

// ---------------------------------------------------------------- discovery helpers

/**
 * Whether a `.npy`/`.jsonl` file's name says it holds teacher logits. Data arrays (`x_train.npy`) are 2-D floats
 * too, so the content alone cannot tell them apart; the name decides, and the content then confirms.
 */
export const looksLikeLogitsFile = (file: string): boolean => /\.(npy|jsonl)$/i.test(file) && /logit|teacher/i.test(path.basename(file));

export interface LogitsPair {
  train: string;
  test: string;
}

/**
 * Pair teacher-logit files as the config wants them (train and test): `teacher_train.npy` goes with
 * `teacher_test.npy` in the same folder. Files without a partner are returned as `unpaired`.
 */
export function pairLogitsFiles(files: readonly string[]): { pairs: LogitsPair[]; unpaired: string[] } {
  const set = new Set(files);
  const pairs: LogitsPair[] = [];
  const used = new Set<string>();
  for (const file of [...files].sort()) {
    const base = path.basename(file);
    if (used.has(file) || !/train/i.test(base)) continue;
    const partner = [...set].find(
      (f) =>
        !used.has(f) && f !== file && path.dirname(f) === path.dirname(file) && path.basename(f).toLowerCase() === base.toLowerCase().replace(/train/g, 'test'),
    );
    if (partner) {
      pairs.push({ train: file, test: partner });
      used.add(file).add(partner);
    }
  }
  return { pairs, unpaired: files.filter((f) => !used.has(f)) };
}

// ---------------------------------------------------------------- words

const shapeText = (shape: (number | null)[] | undefined) => (shape ? `[${shape.map((d) => d ?? '?').join('×')}]` : '[?]');

/** One line for a tree item's description: `Layers [28×28×1] → 10 · 210k params`. */
export function summarizeModel(info: ModelFileInfo): string {
  if (info.kind === 'onnx-model') {
    const out = info.outputs[0]?.shape;
    return `ONNX ${formatOnnxShape(info.inputs[0]?.shape).replace(/, /g, '×')} → ${out && typeof out[out.length - 1] === 'number' ? out[out.length - 1] : '?'} · opset ${info.opset ?? '?'} · ${formatCount(info.params)} params`;
  }
  if (info.kind === 'logits') return `logits ${info.format} · ${formatCount(info.rows)} rows × ${info.classes} classes`;
  const kind = info.format === 'layers' ? 'Layers' : 'Graph';
  return `${kind} ${shapeText(info.inputShape)} → ${info.classes ?? '?'} · ${formatCount(info.params)} params`;
}

/** Markdown lines for a tooltip, including what to fix when the file cannot be used as it is. */
export function detailModel(info: ModelFileInfo): string[] {
  if (info.kind === 'onnx-model') {
    const io = (vs: OnnxFileInfo['inputs']) =>
      vs.map((v) => `\`${v.name}\` ${formatOnnxShape(v.shape)}${v.elemType && v.elemType !== 'float32' ? ` ${v.elemType}` : ''}`).join(', ');
    return [
      `**ONNX model** (opset ${info.opset ?? '?'}${info.producer.trim() ? `, from ${info.producer.trim()}` : ''}): usable as a teacher, run by ONNX Runtime`,
      `Inputs ${io(info.inputs)} · outputs ${io(info.outputs)}`,
      `${info.params.toLocaleString('en-US')} params · ${formatBytes(info.weightBytes)} of weights · ${info.nodes} nodes`,
    ];
  }
  if (info.kind === 'logits') {
    return [
      `**Teacher logits** (${info.format === 'npy' ? `NumPy ${info.dtype}` : 'JSON lines'})`,
      `${info.rows.toLocaleString('en-US')} rows × ${info.classes} classes`,
      'Rows must be in the same order as the data rows.',
    ];
  }
  const lines = [
    `**TensorFlow.js ${info.format === 'layers' ? 'LayersModel' : 'GraphModel'}**${info.format === 'graph' ? ' (inference only: usable as a teacher, not as a student)' : ''}`,
    `Input ${shapeText(info.inputShape)} · ${info.classes ?? '?'} classes`,
    `${info.params.toLocaleString('en-US')} params · ${formatBytes(info.weightBytes)} of weights${info.layers ? ` · ${info.layers} ${info.format === 'layers' ? 'layers' : 'nodes'}` : ''}`,
  ];
  if (info.generatedBy) lines.push(`Generated by ${info.generatedBy}`);
  if (info.endsInSoftmax) lines.push('⚠️ Ends in softmax: Distill expects logits. Remove the final softmax before using it.');
  if (info.missingShards.length) lines.push(`⚠️ Missing weight shards: ${info.missingShards.join(', ')}. Copy them next to model.json.`);
  return lines;
}
