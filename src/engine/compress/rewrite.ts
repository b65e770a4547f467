/**
 * Rewriting a Sequential model layer by layer, through its Keras JSON: a layer is kept (with its weights) or
 * replaced by new layers with given weights. Low-rank factorization and per-channel quantization both need it.
 * The result is a standard tfjs LayersModel, saved and loaded like any other.
 */
import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** A layer as Keras JSON: `{ class_name, config }`. */
export interface LayerJson {
  class_name: string;
  config: Record<string, unknown>;
}

/** What replaces one layer: new layers, each with the weights it gets (in the layer's own weight order). */
export type Replacement = { json: LayerJson; weights: tf.Tensor[] }[];

export const isSequential = (model: tfl.LayersModel): boolean => model.getClassName() === 'Sequential';

/** The layers of a Sequential model as JSON, in order. */
function sequentialJson(model: tfl.LayersModel): { topology: { class_name: string; config: { name: string; layers: LayerJson[] } } & Record<string, unknown> } {
  return { topology: model.toJSON(null, false) as never };
}

/**
 * A new Sequential model where `replace` may swap each layer for others. Layers not replaced keep their weights.
 * The caller owns the replacement tensors (they are copied into the new model) and the returned model.
 */
export async function rewriteSequential(
  model: tfl.LayersModel,
  replace: (layer: tfl.layers.Layer, json: LayerJson) => Replacement | undefined,
): Promise<tfl.LayersModel> {
  if (!isSequential(model)) throw new Error('rewriteSequential needs a Sequential model');
  const { topology } = sequentialJson(model);
  const layersJson = topology.config.layers;
  const plan: { json: LayerJson; weights: tf.Tensor[] }[] = [];
  model.layers.forEach((layer, i) => {
    const json = layersJson[i];
    const replaced = replace(layer, json);
    if (!replaced) {
      plan.push({ json, weights: layer.getWeights() });
      return;
    }
    // The first layer carries the model's input shape.
    const inputShape = json.config.batch_input_shape;
    if (i === 0 && inputShape) replaced[0].json.config.batch_input_shape = inputShape;
    plan.push(...replaced);
  });
  topology.config.layers = plan.map((p) => p.json);
  const rewritten = (await tfl.models.modelFromJSON({ modelTopology: topology } as never)) as tfl.LayersModel;
  rewritten.layers.forEach((layer, i) => {
    if (plan[i].weights.length) layer.setWeights(plan[i].weights);
  });
  return rewritten;
}

/** A layer's Keras config with changes, as JSON for a new layer of the same class. */
export const withConfig = (json: LayerJson, changes: Record<string, unknown>, className = json.class_name): LayerJson => {
  const config: Record<string, unknown> = { ...json.config, ...changes };
  delete config.batch_input_shape;
  return { class_name: className, config };
};

/** Kernel weights (Dense, Conv2D, depthwise and separable convs): what pruning and quantization act on. */
export const isKernelName = (name: string) => /(^|\/)(kernel|depthwise_kernel|pointwise_kernel)$/.test(name);
