/**
 * A trained tfjs student (LayersModel) as an ONNX graph, opset 13: the layers Distill's presets and typical Keras
 * students use. The graph takes Distill's NHWC rows (`[N, H, W, C]`, after data.normalize) and gives logits
 * `[N, classes]`; inside, convolutions and pooling run in ONNX's NCHW, with a Transpose where the layout changes.
 * A layer this does not convert is an error naming it; nothing is written then.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { DistillError } from '../../shared/errors';
import { encodeModel, type OnnxAttribute, type OnnxInitializer, type OnnxNode } from '../../shared/onnx';

export const EXPORT_OPSET = 13;

/** The layer class names this exporter converts (tfjs' names, as in model.json). */
export const SUPPORTED_LAYERS = [
  'InputLayer',
  'Dense',
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'BatchNormalization',
  'Flatten',
  'Reshape',
  'Dropout',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Softmax',
] as const;

type Layout = 'NHWC' | 'NCHW' | 'flat';

interface LayerLike {
  name: string;
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  getWeights(): { shape: number[]; dataSync(): ArrayLike<number> }[];
}

class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private n = 0;

  fresh(base: string): string {
    return `${base}_${this.n++}`;
  }

  node(op: string, inputs: string[], attributes?: Record<string, OnnxAttribute>, name?: string): string {
    const out = this.fresh(name ?? op.toLowerCase());
    this.nodes.push({ op, inputs, outputs: [out], attributes, name: `${name ?? op}_${this.n}` });
    return out;
  }

  constant(base: string, dims: number[], data: Float32Array | { int64: number[] }): string {
    const name = this.fresh(base);
    this.initializers.push({ name, dims, data });
    return name;
  }
}

const unsupported = (layer: LayerLike, what: string) =>
  new DistillError(
    'model',
    `The student's layer "${layer.name}" (${layer.getClassName()}) ${what}, which the ONNX exporter does not convert. Export as tfjs instead (--format tfjs), or use a student built from ${SUPPORTED_LAYERS.filter((l) => l !== 'InputLayer').join(', ')}.`,
  );

/** tfjs kernel [kh, kw, in, out] → ONNX weight [out, in, kh, kw]. */
function convWeight(shape: number[], data: ArrayLike<number>): Float32Array {
  const [kh, kw, cin, cout] = shape;
  const out = new Float32Array(data.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < cin; c++)
        for (let o = 0; o < cout; o++) {
          out[((o * cin + c) * kh + i) * kw + j] = data[((i * kw + j) * cin + c) * cout + o];
        }
  return out;
}

/** tfjs depthwise kernel [kh, kw, in, mult] → ONNX grouped weight [in·mult, 1, kh, kw]. */
function depthwiseWeight(shape: number[], data: ArrayLike<number>): Float32Array {
  const [kh, kw, cin, mult] = shape;
  const out = new Float32Array(data.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < cin; c++)
        for (let m = 0; m < mult; m++) {
          out[((c * mult + m) * kh + i) * kw + j] = data[((i * kw + j) * cin + c) * mult + m];
        }
  return out;
}

const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);

/** Converts `model` (a LayersModel whose layers form one chain) to ONNX bytes. */
export function studentToOnnx(model: tfl.LayersModel, opts: { name?: string; producerVersion?: string } = {}): Uint8Array {
  const layers = model.layers as unknown as LayerLike[];
  checkChain(model);
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  const classesDim = model.outputs[0].shape[model.outputs[0].shape.length - 1];
  const g = new GraphBuilder();
  let x = 'input';
  let layout: Layout = inputShape.length === 3 ? 'NHWC' : 'flat';
  let rank = inputShape.length + 1;

  const toNchw = () => {
    if (layout === 'NHWC') {
      x = g.node('Transpose', [x], { perm: [0, 3, 1, 2] });
      layout = 'NCHW';
    }
  };
  const toNhwc = () => {
    if (layout === 'NCHW') {
      x = g.node('Transpose', [x], { perm: [0, 2, 3, 1] });
      layout = 'NHWC';
    }
  };
  const activation = (name: unknown, layer: LayerLike) => {
    const a = name == null ? 'linear' : typeof name === 'string' ? name : JSON.stringify(name);
    switch (a) {
      case 'linear':
        return;
      case 'relu':
        x = g.node('Relu', [x]);
        return;
      case 'sigmoid':
        x = g.node('Sigmoid', [x]);
        return;
      case 'tanh':
        x = g.node('Tanh', [x]);
        return;
      case 'elu':
        x = g.node('Elu', [x], { alpha: { float: 1 } });
        return;
      case 'selu':
        x = g.node('Selu', [x]);
        return;
      case 'softplus':
        x = g.node('Softplus', [x]);
        return;
      case 'softsign':
        x = g.node('Softsign', [x]);
        return;
      case 'hardSigmoid':
        x = g.node('HardSigmoid', [x], { alpha: { float: 0.2 }, beta: { float: 0.5 } });
        return;
      case 'relu6':
        x = g.node('Clip', [x, g.constant('zero', [], new Float32Array([0])), g.constant('six', [], new Float32Array([6]))]);
        return;
      case 'swish':
        x = g.node('Mul', [x, g.node('Sigmoid', [x])]);
        return;
      case 'softmax':
        // Softmax over the last axis in Keras' layout.
        toNhwc();
        x = g.node('Softmax', [x], { axis: -1 });
        return;
      default:
        throw unsupported(layer, `uses the activation "${a}"`);
    }
  };

  for (const layer of layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig();
    const w = layer.getWeights();
    if ((cfg.dataFormat ?? 'channelsLast') !== 'channelsLast') throw unsupported(layer, `has dataFormat ${JSON.stringify(cfg.dataFormat)}`);
    switch (cls) {
      case 'InputLayer':
      case 'Dropout':
      case 'SpatialDropout2D':
        break;
      case 'Dense': {
        if (rank !== 2) toNhwc();
        const [kernel, bias] = w;
        x = g.node('MatMul', [x, g.constant('dense_kernel', kernel.shape, Float32Array.from(kernel.dataSync()))]);
        if (bias && cfg.useBias !== false) x = g.node('Add', [x, g.constant('dense_bias', bias.shape, Float32Array.from(bias.dataSync()))]);
        activation(cfg.activation, layer);
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D':
      case 'SeparableConv2D': {
        if (layout === 'flat') throw unsupported(layer, 'gets flat input');
        toNchw();
        const [kh, kw] = pair(cfg.kernelSize);
        const attrs: Record<string, OnnxAttribute> = { kernel_shape: [kh, kw], strides: pair(cfg.strides ?? 1), dilations: pair(cfg.dilationRate ?? 1) };
        if (cfg.padding === 'same') attrs.auto_pad = 'SAME_UPPER';
        else if (cfg.padding !== 'valid' && cfg.padding !== undefined) throw unsupported(layer, `has padding ${JSON.stringify(cfg.padding)}`);
        const useBias = cfg.useBias !== false;
        if (cls === 'Conv2D') {
          const [kernel, bias] = w;
          const inputs = [x, g.constant('conv_kernel', [kernel.shape[3], kernel.shape[2], kh, kw], convWeight(kernel.shape, kernel.dataSync()))];
          if (useBias) inputs.push(g.constant('conv_bias', bias.shape, Float32Array.from(bias.dataSync())));
          x = g.node('Conv', inputs, attrs);
        } else {
          const [depth, ...rest] = w;
          const [, , cin, mult] = depth.shape;
          const dwInputs = [x, g.constant('depthwise_kernel', [cin * mult, 1, kh, kw], depthwiseWeight(depth.shape, depth.dataSync()))];
          if (cls === 'DepthwiseConv2D' && useBias) dwInputs.push(g.constant('depthwise_bias', rest[0].shape, Float32Array.from(rest[0].dataSync())));
          x = g.node('Conv', dwInputs, { ...attrs, group: cin });
          if (cls === 'SeparableConv2D') {
            const [point, bias] = rest;
            const pwInputs = [x, g.constant('pointwise_kernel', [point.shape[3], point.shape[2], 1, 1], convWeight(point.shape, point.dataSync()))];
            if (useBias) pwInputs.push(g.constant('pointwise_bias', bias.shape, Float32Array.from(bias.dataSync())));
            x = g.node('Conv', pwInputs, { kernel_shape: [1, 1] });
          }
        }
        activation(cfg.activation, layer);
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        toNchw();
        const size = pair(cfg.poolSize ?? 2);
        const attrs: Record<string, OnnxAttribute> = { kernel_shape: size, strides: pair(cfg.strides ?? size) };
        if (cfg.padding === 'same') attrs.auto_pad = 'SAME_UPPER';
        x = g.node(cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x], attrs);
        break;
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D':
        toNchw();
        x = g.node('Flatten', [g.node(cls === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x])], { axis: 1 });
        layout = 'flat';
        rank = 2;
        break;
      case 'BatchNormalization': {
        const axis = Number(cfg.axis ?? -1);
        if (axis !== -1 && axis !== rank - 1) throw unsupported(layer, `normalizes axis ${axis}, not the channels`);
        let i = 0;
        const gamma = cfg.scale !== false ? w[i++].dataSync() : undefined;
        const beta = cfg.center !== false ? w[i++].dataSync() : undefined;
        const mean = w[i++].dataSync();
        const variance = w[i++].dataSync();
        const eps = Number(cfg.epsilon ?? 1e-3);
        const c = mean.length;
        const scale = new Float32Array(c);
        const shift = new Float32Array(c);
        for (let k = 0; k < c; k++) {
          scale[k] = (gamma ? gamma[k] : 1) / Math.sqrt(variance[k] + eps);
          shift[k] = (beta ? beta[k] : 0) - mean[k] * scale[k];
        }
        // Channels are the last axis (NHWC, flat) or axis 1 (NCHW): shape the constants to broadcast there.
        const dims = (layout as Layout) === 'NCHW' ? [c, 1, 1] : [c];
        x = g.node('Add', [g.node('Mul', [x, g.constant('bn_scale', dims, scale)]), g.constant('bn_shift', dims, shift)]);
        break;
      }
      case 'Flatten':
        toNhwc();
        x = g.node('Flatten', [x], { axis: 1 });
        layout = 'flat';
        rank = 2;
        break;
      case 'Reshape': {
        toNhwc();
        const target = (cfg.targetShape as number[]).map(Number);
        x = g.node('Reshape', [x, g.constant('shape', [target.length + 1], { int64: [0, ...target] })]);
        rank = target.length + 1;
        layout = target.length === 3 ? 'NHWC' : 'flat';
        break;
      }
      case 'Activation':
        activation(cfg.activation, layer);
        break;
      case 'ReLU': {
        const max = cfg.maxValue as number | null | undefined;
        x =
          max === null || max === undefined
            ? g.node('Relu', [x])
            : g.node('Clip', [x, g.constant('zero', [], new Float32Array([0])), g.constant('max', [], new Float32Array([max]))]);
        break;
      }
      case 'LeakyReLU':
        x = g.node('LeakyRelu', [x], { alpha: { float: Number(cfg.alpha ?? 0.3) } });
        break;
      case 'ELU':
        x = g.node('Elu', [x], { alpha: { float: Number(cfg.alpha ?? 1) } });
        break;
      case 'Softmax':
        // tfjs' Softmax layer says axis 1 by default: the last axis of a [batch, classes] tensor.
        if (![-1, rank - 1].includes(Number(cfg.axis ?? -1))) throw unsupported(layer, `normalizes axis ${JSON.stringify(cfg.axis)}, not the last`);
        toNhwc();
        x = g.node('Softmax', [x], { axis: -1 });
        break;
      default:
        throw unsupported(layer, 'is a layer type');
    }
  }
  toNhwc();
  const last = g.nodes[g.nodes.length - 1];
  if (!last || last.outputs[0] !== x) throw new DistillError('model', 'The student has no layer to export.');
  // The graph's output has a stable name.
  g.nodes[g.nodes.length - 1] = { ...last, outputs: ['logits'] };
  return encodeModel({
    name: opts.name ?? model.name,
    opset: EXPORT_OPSET,
    producer: { name: 'Distill', version: opts.producerVersion ?? '' },
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [{ name: 'input', shape: ['batch', ...inputShape] }],
    outputs: [{ name: 'logits', shape: ['batch', typeof classesDim === 'number' ? classesDim : 'classes'] }],
  });
}

/** The layers must form one chain (a Sequential model, or a functional model without branches). */
function checkChain(model: tfl.LayersModel): void {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new DistillError(
      'model',
      `The student has ${model.inputs.length} inputs and ${model.outputs.length} outputs; the ONNX exporter converts a model with one of each. Export as tfjs instead (--format tfjs).`,
    );
  }
  for (const layer of model.layers) {
    const inbound = (layer as unknown as { inboundNodes: { inboundLayers: unknown[] }[] }).inboundNodes;
    if (inbound.some((n) => n.inboundLayers.length > 1)) {
      throw new DistillError(
        'model',
        `The student's layer "${layer.name}" (${layer.getClassName()}) joins branches, which the ONNX exporter does not convert (it converts a chain of layers). Export as tfjs instead (--format tfjs).`,
      );
    }
  }
}
