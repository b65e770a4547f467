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

export type LoadedModel = { kind: 'layers'; model: tfl.LayersModel } | { kind: 'graph'; model: GraphModel };

function readModelJson(file: string, role: string): ModelJson {
  if (!fs.existsSync(file)) {
    throw new DistillError('model', `${role} model file not found: ${file}. Check the path in the config (relative paths start at the config's folder).`, { file });
  }
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ModelJson;
  } catch (e) {
    throw new DistillError('model', `${file} is not valid JSON (${(e as Error).message}). Expected a TensorFlow.js model.json.`, { file });
  }
}

/** Model artifacts with every weight shard read and checked, so tfjs never meets a missing or short file. */
function readArtifacts(file: string, json: ModelJson): tf.io.ModelArtifacts {
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new DistillError('model', `${file} has no modelTopology or weightsManifest: it is not a TensorFlow.js model.json. Convert the model with tensorflowjs_converter.`, { file });
  }
  const dir = path.dirname(file);
  const buffers: Buffer[] = [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  for (const group of json.weightsManifest) {
    for (const shard of group.paths) {
      const shardFile = path.join(dir, shard);
      if (!fs.existsSync(shardFile)) {
        throw new DistillError(
          'model',
          `${file}: weight shard "${shard}" listed in weightsManifest is missing (expected at ${shardFile}). Copy the shard next to model.json, or re-export the model.`,
          { file: shardFile },
        );
      }
      buffers.push(fs.readFileSync(shardFile));
    }
    weightSpecs.push(...group.weights);
  }
  const weightData = Buffer.concat(buffers);
  const expected = weightSpecs.reduce((sum, w) => sum + tf.util.sizeFromShape(w.shape) * (w.dtype === 'float32' || w.dtype === 'int32' ? 4 : w.dtype === 'bool' ? 1 : 4), 0);
  if (!weightSpecs.some((w) => w.quantization) && weightData.length < expected) {
    throw new DistillError('model', `${file}: weight shards hold ${weightData.length} bytes but the manifest needs ${expected}. A shard is truncated; re-export the model.`, { file });
  }
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

const isGraphModel = (json: ModelJson) => json.format === 'graph-model' || Array.isArray(json.modelTopology?.node);

export async function loadModelFile(file: string, role: 'teacher' | 'student'): Promise<LoadedModel> {
  const json = readModelJson(file, role);
  const artifacts = readArtifacts(file, json);
  const handler = tf.io.fromMemory(artifacts);
  try {
    if (isGraphModel(json)) return { kind: 'graph', model: await loadGraphModel(handler) };
    return { kind: 'layers', model: await tfl.loadLayersModel(handler) };
  } catch (e) {
    throw new DistillError('model', `${file} could not be loaded as a TensorFlow.js ${isGraphModel(json) ? 'GraphModel' : 'LayersModel'}: ${(e as Error).message}`, { file });
  }
}

/** A trainable student: only a LayersModel can be trained. */
export async function loadStudentModel(file: string): Promise<tfl.LayersModel> {
  const loaded = await loadModelFile(file, 'student');
  if (loaded.kind !== 'layers') {
    throw new DistillError('model', `${file} is a GraphModel, which cannot be trained. Give the student as a Keras/Layers model (tfjs LayersModel) or use a preset.`, { file });
  }
  return loaded.model;
}

/** sha256 of model.json and its shards: the teacher's identity for the logits cache. */
export function hashModelFile(file: string): string {
  const json = readModelJson(file, 'teacher');
  const hash = crypto.createHash('sha256').update(fs.readFileSync(file));
  for (const group of json.weightsManifest ?? []) for (const shard of group.paths) {
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
      const raw = artifacts.weightData ? Buffer.from(tf.io.concatenateArrayBuffers(([] as ArrayBuffer[]).concat(artifacts.weightData as ArrayBuffer))) : Buffer.alloc(0);
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
      const xb = tf.slice(x, start, Math.min(batchSize, n - start));
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
