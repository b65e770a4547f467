/**
 * The probe set as the dashboard reads it: probe.json (which validation rows, their labels, the class names and
 * 8-bit thumbnails of image-like samples) and the teacher's soft labels on those rows, the first softlabels.jsonl
 * record. Students' records follow, one per epoch.
 */
import type { ProbeInfo, SoftLabelRecord } from '../shared/records';
import { gatherRows } from './data';
import type { Prepared } from './prepare';

/** probe.json and the teacher's soft-label record, from the prepared data. */
export async function probeFiles(p: Prepared): Promise<{ info: ProbeInfo; teacher: SoftLabelRecord }> {
  const info: ProbeInfo = {
    indices: p.probe.indices,
    labels: p.probe.indices.map((i) => p.val.labels[i]),
    classNames: p.dataset.classNames,
    inputShape: p.dataset.inputShape,
    thumbnails: thumbnails((await p.probe.x.data()) as Float32Array, p.probe.indices.length, p.dataset.inputShape),
  };
  const teacher: SoftLabelRecord = { kind: 'teacher', logits: softLabelRows(gatherRows(p.val.teacher, p.probe.indices, p.numClasses), p.numClasses) };
  return { info, teacher };
}

/** Logits as soft-label rows, rounded to 4 decimals (plenty for a heatmap, and a quarter of the bytes). */
export const softLabelRows = (flat: Float32Array, classes: number): number[][] =>
  Array.from({ length: flat.length / classes }, (_, i) => Array.from(flat.subarray(i * classes, (i + 1) * classes), (v) => Math.round(v * 1e4) / 1e4));

/** 8-bit thumbnails of image-like probe samples, rescaled per sample to the full grey range. */
export function thumbnails(data: Float32Array, count: number, inputShape: number[]): ProbeInfo['thumbnails'] {
  if (inputShape.length !== 3 || ![1, 3].includes(inputShape[2])) return undefined;
  const [height, width, channels] = inputShape;
  const size = height * width * channels;
  const pixels: string[] = [];
  for (let i = 0; i < count; i++) {
    const row = data.subarray(i * size, (i + 1) * size);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of row) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    const bytes = Buffer.alloc(size);
    for (let j = 0; j < size; j++) bytes[j] = hi > lo ? Math.round(((row[j] - lo) / (hi - lo)) * 255) : 0;
    pixels.push(bytes.toString('base64'));
  }
  return { width, height, channels, pixels };
}
