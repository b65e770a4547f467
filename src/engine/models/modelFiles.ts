/**
 * tfjs `model.json` + weight shards on the local disk. tfjs-core has no file-system IO handler (tfjs-node does, but
 * it is optional), so this is ours: it checks every shard before tfjs sees it, and saves atomically.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { DistillError } from '../../shared/errors';

interface ModelJson {
  format?: string;
  modelTopology?: { node?: unknown[]; class_name?: string; config?: unknown } & Record<string, unknown>;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  [key: string]: unknown;
}

/**
 * A model ready to predict. `feedShape`: the per-sample shape the model takes when it differs from the data's
 * while the element counts agree (a flat [784] teacher on [28, 28, 1] images, or the other way round); inputs are
 * reshaped to it on the way in.
 */
export type LoadedModel = ({ kind: 'layers'; model: tfl.LayersModel } | { kind: 'graph'; model: GraphModel }) & { feedShape?: number[] };

function readModelJson(file: string, role: string): ModelJson {
  if (!fs.existsSync(file)) {
    throw new DistillError('model', `${role} model file not found: ${file}. Check the path in the config (relative paths start at the config's folder).`, {
      file,
    });
  }
  let json: unknown;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new DistillError('model', `${role} model ${file} is not a file. Point the config at a TensorFlow.js model.json.`, { file });
    if (stat.size > MAX_MODEL_JSON_BYTES)
      throw new DistillError(
        'model',
        `${file} is ${stat.size} bytes, too large for a model.json (its weights belong in shards). Expected a TensorFlow.js model.json.`,
        { file },
      );
    const text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
    const depth = jsonDepth(text);
    if (depth > MAX_MODEL_JSON_DEPTH)
      throw new DistillError(
        'model',
        `${file} is nested ${depth} levels deep, deeper than any model.json (${MAX_MODEL_JSON_DEPTH}). Expected a TensorFlow.js model.json.`,
        { file },
      );
    json = JSON.parse(text);
  } catch (e) {
    if (e instanceof DistillError) throw e;
    throw new DistillError('model', `${file} is not valid JSON (${(e as Error).message}). Expected a TensorFlow.js model.json.`, { file });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new DistillError(
      'model',
      `${file} holds ${json === null ? 'null' : Array.isArray(json) ? 'an array' : `a ${typeof json}`}, not a TensorFlow.js model.json object. Convert the model with tensorflowjs_converter.`,
      { file },
    );
  }
  return json as ModelJson;
}

/** A model.json is topology and manifest; 64 MiB is hundreds of thousands of layers. */
const MAX_MODEL_JSON_BYTES = 64 << 20;
/** Keras nests layers in models in layers; 200 levels is far past any real model and safe for JSON.parse's reader. */
const MAX_MODEL_JSON_DEPTH = 200;
/** No dimension of a weight, nor any size in the topology, is anywhere near this in a model that fits in memory. */
const MAX_DIMENSION = 1 << 24;

/** The deepest bracket nesting in JSON text, outside strings. */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}

const WEIGHT_DTYPES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

/** The weightsManifest, checked entry by entry: what tfjs would otherwise trip over with a TypeError. */
function checkManifest(file: string, manifest: unknown[]): { paths: string[]; weights: tf.io.WeightsManifestEntry[]; bytes: number } {
  const bad = (where: string, what: string) =>
    new DistillError('model', `${file}: weightsManifest${where} ${what}. Re-export the model with tensorflowjs_converter.`, { file });
  const paths: string[] = [];
  const weights: tf.io.WeightsManifestEntry[] = [];
  let bytes = 0;
  manifest.forEach((group, g) => {
    if (!group || typeof group !== 'object' || Array.isArray(group)) throw bad(`[${g}]`, 'is not an object { "paths": [...], "weights": [...] }');
    const { paths: groupPaths, weights: groupWeights } = group as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(groupPaths) || !groupPaths.every((p) => typeof p === 'string' && p.length > 0))
      throw bad(`[${g}].paths`, 'is missing or not a list of shard file names');
    if (!Array.isArray(groupWeights)) throw bad(`[${g}].weights`, 'is missing or not a list');
    paths.push(...(groupPaths as string[]));
    groupWeights.forEach((w, i) => {
      const where = `[${g}].weights[${i}]`;
      if (!w || typeof w !== 'object') throw bad(where, 'is not an object { "name", "shape", "dtype" }');
      const { name, shape, dtype, quantization } = w as { name?: unknown; shape?: unknown; dtype?: unknown; quantization?: { dtype?: unknown } };
      if (typeof name !== 'string') throw bad(`${where}.name`, 'is not a string');
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0 && d <= MAX_DIMENSION))
        throw bad(`${where}.shape`, `(${JSON.stringify(shape)?.slice(0, 60)}) is not a list of sizes from 0 to ${MAX_DIMENSION}`);
      if (typeof dtype !== 'string' || !(dtype in WEIGHT_DTYPES))
        throw bad(`${where}.dtype`, `(${JSON.stringify(dtype)?.slice(0, 30)}) is not one of float32, int32, bool`);
      const size = (shape as number[]).reduce((a, b) => a * b, 1);
      if (quantization !== undefined) {
        const q = quantization?.dtype;
        if (typeof q !== 'string' || !(q in QUANTIZED_BYTES))
          throw bad(`${where}.quantization.dtype`, `(${JSON.stringify(q)?.slice(0, 30)}) is not one of uint8, uint16, float16`);
        bytes += size * QUANTIZED_BYTES[q];
      } else {
        bytes += size * WEIGHT_DTYPES[dtype];
      }
      weights.push(w as tf.io.WeightsManifestEntry);
    });
  });
  return { paths, weights, bytes };
}

/** Model artifacts with every weight shard read and checked, so tfjs never meets a missing or short file. */
function readArtifacts(file: string, json: ModelJson): tf.io.ModelArtifacts {
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new DistillError(
      'model',
      `${file} has no modelTopology or weightsManifest: it is not a TensorFlow.js model.json. Convert the model with tensorflowjs_converter.`,
      { file },
    );
  }
  if (typeof json.modelTopology !== 'object' || Array.isArray(json.modelTopology)) {
    throw new DistillError(
      'model',
      `${file}: modelTopology is ${Array.isArray(json.modelTopology) ? 'an array' : `a ${typeof json.modelTopology}`}, not the model's layer graph (an object). Re-export the model with tensorflowjs_converter.`,
      { file },
    );
  }
  const huge = largestNumber(json.modelTopology);
  if (huge > MAX_DIMENSION) {
    throw new DistillError(
      'model',
      `${file}: modelTopology holds the size ${huge}, beyond any layer that fits in memory (at most ${MAX_DIMENSION}). Check the layer widths and shapes, or re-export the model.`,
      { file },
    );
  }
  const { paths, weights: weightSpecs, bytes: expected } = checkManifest(file, json.weightsManifest);
  const dir = path.dirname(file);
  // Sizes first, from the file system: nothing is read (or allocated) for a manifest the shards cannot match.
  const shardFiles = paths.map((shard) => {
    const shardFile = path.join(dir, shard);
    let size: number;
    try {
      const stat = fs.statSync(shardFile);
      if (!stat.isFile()) throw new Error('not a file');
      size = stat.size;
    } catch {
      throw new DistillError(
        'model',
        `${file}: weight shard "${shard}" listed in weightsManifest is missing (expected at ${shardFile}). Copy the shard next to model.json, or re-export the model.`,
        { file: shardFile },
      );
    }
    return { shardFile, size };
  });
  const total = shardFiles.reduce((s, f) => s + f.size, 0);
  if (total !== expected) {
    const problem =
      total < expected ? 'A shard is truncated' : 'The shards hold bytes the manifest does not describe (a shard from another model, or a damaged file)';
    throw new DistillError('model', `${file}: weight shards hold ${total} bytes but the manifest needs ${expected}. ${problem}; re-export the model.`, {
      file,
    });
  }
  const weightData = Buffer.concat(shardFiles.map((f) => fs.readFileSync(f.shardFile)));
  const { modelTopology, format, generatedBy, convertedBy, signature, userDefinedMetadata, modelInitializer } = json as Record<string, never>;
  return {
    modelTopology,
    format,
    generatedBy,
    convertedBy,
    signature,
    userDefinedMetadata,
    modelInitializer,
    weightSpecs,
    weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
  };
}

/** Keras layer-config keys that size an allocation when tfjs builds the layer (before any weight is read). */
const SIZE_KEYS = new Set([
  'units',
  'filters',
  'output_dim',
  'input_dim',
  'batch_input_shape',
  'batch_shape',
  'input_shape',
  'target_shape',
  'kernel_size',
  'pool_size',
  'depth_multiplier',
  'n',
  'dims',
]);

/** The largest size under a SIZE_KEYS key anywhere in a topology; iterative, so any nesting depth is fine. */
function largestNumber(value: unknown): number {
  let max = 0;
  const stack: [unknown, boolean][] = [[value, false]];
  while (stack.length) {
    const [v, sizing] = stack.pop()!;
    if (typeof v === 'number') {
      if (sizing) max = Math.max(max, Math.abs(v));
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push([item, sizing]);
    } else if (v && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) stack.push([item, sizing || SIZE_KEYS.has(k)]);
    }
  }
  return max;
}

const isGraphModel = (json: ModelJson) => json.format === 'graph-model' || Array.isArray(json.modelTopology?.node);

export async function loadModelFile(file: string, role: 'teacher' | 'student'): Promise<LoadedModel> {
  const json = readModelJson(file, role);
  const artifacts = readArtifacts(file, json);
  const handler = tf.io.fromMemory(artifacts);
  try {
    if (isGraphModel(json)) return { kind: 'graph', model: await loadGraphModel(handler) };
    return { kind: 'layers', model: await tfl.loadLayersModel(handler) };
  } catch (e) {
    throw new DistillError(
      'model',
      `${file} could not be loaded as a TensorFlow.js ${isGraphModel(json) ? 'GraphModel' : 'LayersModel'}: ${(e as Error).message}`,
      { file },
    );
  }
}

/** A trainable student: only a LayersModel can be trained. */
export async function loadStudentModel(file: string): Promise<tfl.LayersModel> {
  const loaded = await loadModelFile(file, 'student');
  if (loaded.kind !== 'layers') {
    throw new DistillError(
      'model',
      `${file} is a GraphModel, which cannot be trained. Give the student as a Keras/Layers model (tfjs LayersModel) or use a preset.`,
      { file },
    );
  }
  return loaded.model;
}

/** sha256 of model.json and its shards: the teacher's identity for the logits cache. */
export function hashModelFile(file: string): string {
  const json = readModelJson(file, 'teacher');
  const hash = crypto.createHash('sha256').update(fs.readFileSync(file));
  // The manifest is checked here too: the hash comes before loading, and must not trip over a malformed entry.
  for (const shard of Array.isArray(json.weightsManifest) ? checkManifest(file, json.weightsManifest).paths : []) {
    const shardFile = path.join(path.dirname(file), shard);
    if (fs.existsSync(shardFile)) hash.update(fs.readFileSync(shardFile));
  }
  return hash.digest('hex');
}

/** Re-encodes the float32 weights tfjs hands over (e.g. quantized, with a `quantization` entry per weight). */
export type WeightEncoder = (specs: tf.io.WeightsManifestEntry[], data: Buffer) => { weightSpecs: tf.io.WeightsManifestEntry[]; weightData: Buffer };

/**
 * Save a LayersModel as `dir/model.json` + `dir/weights.bin`. Written into a sibling temp folder and renamed into
 * place, so a crash never leaves a half-written model where a finished one was.
 */
export async function saveLayersModel(model: tfl.LayersModel, dir: string, encode?: WeightEncoder): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const raw = artifacts.weightData
        ? Buffer.from(tf.io.concatenateArrayBuffers(([] as ArrayBuffer[]).concat(artifacts.weightData as ArrayBuffer)))
        : Buffer.alloc(0);
      const encoded = encode ? encode(artifacts.weightSpecs ?? [], raw) : { weightSpecs: artifacts.weightSpecs, weightData: raw };
      const weightData = encoded.weightData;
      fs.writeFileSync(path.join(tmp, 'weights.bin'), weightData);
      const modelJson = {
        format: 'layers-model',
        generatedBy: `Distill (TensorFlow.js ${tf.version_core})`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: encoded.weightSpecs }],
      };
      fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weightData.length } };
    }),
  );
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
}

/** Logits for `x` in batches, without keeping intermediate tensors. */
export async function predictLogits(loaded: LoadedModel, x: tf.Tensor, batchSize = 512): Promise<Float32Array> {
  const n = x.shape[0];
  const parts: Float32Array[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const out = tf.tidy(() => {
      const slice = tf.slice(x, start, Math.min(batchSize, n - start));
      const xb = loaded.feedShape ? tf.reshape(slice, [slice.shape[0], ...loaded.feedShape]) : slice;
      const y = loaded.model.predict(xb) as tf.Tensor;
      return y.rank === 2 ? y : tf.reshape(y, [y.shape[0], -1]);
    });
    parts.push((await out.data()) as Float32Array);
    out.dispose();
  }
  const total = parts.reduce((s, p) => s + p.length, 0);
  const all = new Float32Array(total);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return all;
}

/** Input shape (without batch) and output width a model declares; `null` entries are unknown. */
export function modelSignature(loaded: LoadedModel): { input: (number | null)[]; outputs: number | null } {
  if (loaded.kind === 'layers') {
    const input = loaded.model.inputs[0].shape.slice(1);
    const out = loaded.model.outputs[0].shape;
    return { input, outputs: out[out.length - 1] ?? null };
  }
  const inp = loaded.model.inputs[0]?.shape?.slice(1) ?? [];
  const out = loaded.model.outputs[0]?.shape;
  return { input: inp.map((d) => (d === -1 ? null : d)), outputs: out && out[out.length - 1] !== -1 ? out[out.length - 1] : null };
}

export function disposeModel(loaded: LoadedModel): void {
  loaded.model.dispose();
}
