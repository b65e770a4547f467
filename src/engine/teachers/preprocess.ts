/**
 * `teacher.preprocess`: what the teacher expects of its input when it differs from the student's, applied to the
 * teacher's rows only: repeat a grayscale channel (`channels: 3`), resize to the teacher's H×W, then
 * `(x · scale − mean[c]) / std[c]`. The rows come as the student sees them (NHWC, after data.normalize).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TeacherPreprocess } from '../../shared/config';
import { DistillError } from '../../shared/errors';

const PATH = ['teacher', 'preprocess'];

/** One sample's shape after preprocessing, `[H, W, C]` for images or `[F]` for flat rows; checks the settings fit the data. */
export function preprocessedShape(inputShape: readonly number[], pre: TeacherPreprocess | undefined): number[] {
  if (!pre) return [...inputShape];
  const image = inputShape.length === 3;
  if ((pre.resize || pre.channels) && !image) {
    throw new DistillError(
      'config',
      `teacher.preprocess.${pre.resize ? 'resize' : 'channels'} needs image data of shape [height, width, channels], but the data gives [${inputShape.join(', ')}]. Set data.inputShape (e.g. [28, 28, 1]) or remove it.`,
      { path: PATH },
    );
  }
  let shape = [...inputShape];
  if (pre.channels) {
    if (shape[2] !== 1 && shape[2] !== pre.channels) {
      throw new DistillError(
        'config',
        `teacher.preprocess.channels: ${pre.channels} repeats a grayscale channel, but the data has ${shape[2]} channels. Remove it.`,
        { path: [...PATH, 'channels'] },
      );
    }
    shape = [shape[0], shape[1], pre.channels];
  }
  if (pre.resize) shape = [pre.resize[0], pre.resize[1], shape[2]];
  const channels = image ? shape[2] : 1;
  for (const key of ['mean', 'std'] as const) {
    const v = pre[key];
    if (v && v.length !== 1 && v.length !== channels) {
      throw new DistillError(
        'config',
        `teacher.preprocess.${key} has ${v.length} values, but the teacher's input has ${channels} channel${channels === 1 ? '' : 's'}. Give one value per channel, or one for all.`,
        { path: [...PATH, key] },
      );
    }
  }
  return shape;
}

/** The preprocessed rows; `x` is `[N, ...inputShape]`. Call inside tf.tidy. */
export function applyPreprocess(x: tf.Tensor, pre: TeacherPreprocess | undefined): tf.Tensor {
  if (!pre) return x;
  let out = x;
  if (pre.channels && out.shape[3] === 1) out = tf.tile(out, [1, 1, 1, pre.channels]);
  if (pre.resize) {
    const size: [number, number] = [pre.resize[0], pre.resize[1]];
    // Half-pixel centres: PyTorch's F.interpolate(align_corners=False) and torchvision's Resize (without antialias).
    out =
      pre.resizeMode === 'nearest'
        ? tf.image.resizeNearestNeighbor(out as tf.Tensor4D, size, false, true)
        : tf.image.resizeBilinear(out as tf.Tensor4D, size, false, true);
  }
  const scale = pre.scale ?? 1;
  if (scale !== 1) out = tf.mul(out, scale);
  if (pre.mean) out = tf.sub(out, tf.tensor1d(pre.mean));
  if (pre.std) out = tf.div(out, tf.tensor1d(pre.std));
  return out;
}
