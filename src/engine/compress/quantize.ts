/**
 * Post-training weight quantization, written as a standard tfjs model: each quantized weight gets a manifest entry
 * `quantization: { dtype, scale, min }` that `tf.io.decodeWeights` (inside `tf.loadLayersModel`) dequantizes on
 * load. tfjs cannot write these (its `encodeWeights` has a TODO), so the shard and manifest are ours.
 *
 * - float16: every float32 weight as IEEE binary16.
 * - uint8: kernels affine per tensor, v ≈ q·scale + min, with zero exactly on the grid (pruned zeros stay zero);
 *   biases stay float32.
 * - uint8-per-channel: tfjs' manifest has one scale per tensor, so the per-output-channel scale moves into the
 *   model: each Dense / Conv2D becomes the same layer without bias or activation, holding the integer kernel
 *   q ∈ [−127, 127] (stored uint8 with scale 1, min −127: exact), then a BatchNormalization holding the channel
 *   scales s_j (γ) and the bias (β) with mean 0, variance 1 and ε 0, then the activation.
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfc from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Quantization } from '../../shared/config';
import { saveLayersModel, type WeightEncoder } from '../models/modelFiles';
import { encodeFloat16 } from './float16';
import { isKernelName, isSequential, rewriteSequential, withConfig, type LayerJson } from './rewrite';

/** Affine uint8 parameters of a tensor: q = round((v − min) / scale) in [0, 255], with 0 on the grid. */
export function uint8Params(values: ArrayLike<number>): { scale: number; min: number } {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < lo) lo = values[i];
    if (values[i] > hi) hi = values[i];
  }
  if (hi === lo) return { scale: 1, min: 0 };
  const scale = (hi - lo) / 255;
  // Nudge the range so that zero is a grid point (as TFLite does): a pruned weight decodes to exactly 0.
  const zeroPoint = Math.round(-lo / scale);
  return { scale, min: -zeroPoint * scale };
}

export function quantizeUint8(values: ArrayLike<number>, p: { scale: number; min: number }): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(255, Math.max(0, Math.round((values[i] - p.min) / p.scale)));
  return out;
}

/** Symmetric scales per output channel (the last axis): s_j = max_i |W_ij| / 127, 1 for an all-zero channel. */
export function channelScales(values: Float32Array, channels: number): Float32Array {
  const s = new Float32Array(channels);
  for (let i = 0; i < values.length; i++) s[i % channels] = Math.max(s[i % channels], Math.abs(values[i]));
  for (let j = 0; j < channels; j++) s[j] = s[j] > 0 ? s[j] / 127 : 1;
  return s;
}

/** A weight's encoding in the shard. */
type Encoding = { dtype: 'float32' } | { dtype: 'float16' } | { dtype: 'uint8'; scale: number; min: number; label?: string };

/** A WeightEncoder from a per-weight choice; `storage` receives what each weight became. */
function encoder(choose: (spec: tf.io.WeightsManifestEntry, values: Float32Array) => Encoding, storage: Record<string, string>): WeightEncoder {
  return (specs, data) => {
    const parts: Buffer[] = [];
    const out: tf.io.WeightsManifestEntry[] = [];
    let offset = 0;
    for (const spec of specs) {
      const size = tfc.util.sizeFromShape(spec.shape);
      const bytes = size * 4; // tfjs hands over float32 and int32 weights, 4 bytes each
      const raw = data.subarray(offset, offset + bytes);
      offset += bytes;
      if (spec.dtype !== 'float32') {
        parts.push(raw);
        out.push(spec);
        storage[spec.name] = spec.dtype ?? 'float32';
        continue;
      }
      const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      const enc = choose(spec, values);
      if (enc.dtype === 'float32') {
        parts.push(raw);
        out.push(spec);
      } else if (enc.dtype === 'float16') {
        const half = encodeFloat16(values);
        parts.push(Buffer.from(half.buffer, half.byteOffset, half.byteLength));
        out.push({ ...spec, quantization: { dtype: 'float16' } });
      } else {
        parts.push(Buffer.from(quantizeUint8(values, enc)));
        out.push({ ...spec, quantization: { dtype: 'uint8', scale: enc.scale, min: enc.min } });
      }
      storage[spec.name] = enc.dtype === 'uint8' ? (enc.label ?? 'uint8') : enc.dtype;
    }
    return { weightSpecs: out, weightData: Buffer.concat(parts) };
  };
}

const CHANNEL_LAYERS = new Set(['Dense', 'Conv2D']);

/**
 * The per-channel form of a Sequential model: integer kernels, then a BatchNormalization with the scales and the
 * bias, then the activation. Returns the model and which weights are the integer kernels and the fixed BN
 * statistics, so the encoder stores them exactly.
 */
export async function perChannelModel(
  model: tfl.LayersModel,
): Promise<{ model: tfl.LayersModel; integerKernels: Set<string>; constants: Map<string, number>; layers: number }> {
  const integerKernels = new Set<string>();
  const constants = new Map<string, number>();
  const created: tf.Tensor[] = [];
  let layers = 0;
  try {
    const rewritten = await rewriteSequential(model, (layer, json) => {
      if (!CHANNEL_LAYERS.has(json.class_name) || json.config.data_format === 'channels_first') return undefined;
      const [kernel, bias] = layer.getWeights();
      const units = kernel.shape[kernel.shape.length - 1];
      const w = kernel.dataSync() as Float32Array;
      const s = channelScales(w, units);
      const q = new Float32Array(w.length);
      for (let i = 0; i < w.length; i++) q[i] = Math.round(w[i] / s[i % units]);
      const name = json.config.name as string;
      const activation = (json.config.activation as string | undefined) ?? 'linear';
      const qKernel = tfc.tensor(q, kernel.shape);
      const gamma = tfc.tensor1d(s);
      const beta = bias ? bias.clone() : tfc.zeros([units]);
      const mean = tfc.zeros([units]);
      const variance = tfc.ones([units]);
      created.push(qKernel, gamma, beta, mean, variance);
      integerKernels.add(`${name}/kernel`);
      constants.set(`${name}_scale/moving_mean`, 0).set(`${name}_scale/moving_variance`, 1);
      layers++;
      const bn: LayerJson = {
        class_name: 'BatchNormalization',
        config: { name: `${name}_scale`, trainable: true, axis: -1, momentum: 0.99, epsilon: 0, center: true, scale: true },
      };
      const parts = [
        { json: withConfig(json, { use_bias: false, activation: 'linear' }), weights: [qKernel] },
        { json: bn, weights: [gamma, beta, mean, variance] },
      ];
      if (activation !== 'linear')
        parts.push({ json: { class_name: 'Activation', config: { name: `${name}_act`, trainable: true, activation } }, weights: [] });
      return parts;
    });
    return { model: rewritten, integerKernels, constants, layers };
  } finally {
    tfc.dispose(created);
  }
}

export interface QuantizedModel {
  storage: Record<string, string>;
  notes: string[];
}

/** Writes `model` quantized as `format` into `dir` (model.json + weights.bin), atomically. */
export async function writeQuantizedModel(model: tfl.LayersModel, dir: string, format: Quantization): Promise<QuantizedModel> {
  const storage: Record<string, string> = {};
  const notes: string[] = [];
  if (format === 'float16') {
    await saveLayersModel(
      model,
      dir,
      encoder(() => ({ dtype: 'float16' }), storage),
    );
    return { storage, notes };
  }
  const perTensor = (spec: tf.io.WeightsManifestEntry, values: Float32Array): Encoding =>
    isKernelName(spec.name) ? { dtype: 'uint8', ...uint8Params(values) } : { dtype: 'float32' };
  if (format === 'uint8') {
    await saveLayersModel(model, dir, encoder(perTensor, storage));
    return { storage, notes };
  }
  if (!isSequential(model)) {
    notes.push('Per-channel scales need a Sequential model; this one is functional, so its kernels are quantized per tensor.');
    await saveLayersModel(model, dir, encoder(perTensor, storage));
    return { storage, notes };
  }
  const pc = await perChannelModel(model);
  try {
    notes.push(`${pc.layers} kernel(s) with one scale per output channel, each followed by a BatchNormalization layer holding the scales and the bias.`);
    await saveLayersModel(
      pc.model,
      dir,
      encoder((spec, values) => {
        if (pc.integerKernels.has(spec.name)) return { dtype: 'uint8', scale: 1, min: -127, label: 'uint8 per channel' };
        const constant = pc.constants.get(spec.name);
        if (constant !== undefined) return { dtype: 'uint8', scale: 1, min: constant };
        return perTensor(spec, values);
      }, storage),
    );
    return { storage, notes };
  } finally {
    pc.model.dispose();
  }
}
