/**
 * The files a run writes once its data is prepared: probe.json (which validation rows, or training rows when there
 * are none; their labels, the class names and 8-bit thumbnails of image-like samples), the teacher's soft labels on
 * those rows (the first softlabels.jsonl records; students' records follow, one per epoch), and the input spec that
 * an exported student's user needs (shape, classes, normalization).
 */
import type { InputSpec, ProbeInfo, SoftLabelRecord } from '../shared/records';
import type { Prepared } from './prepare';

/**
 * probe.json, the teacher's soft-label records and the input spec, from the prepared data. The teacher's records are
 * one, or for a list of teachers the ensemble's followed by each member's (labelled as the report names them).
 */
export async function probeFiles(p: Prepared): Promise<{ info: ProbeInfo; teacher: SoftLabelRecord[]; inputSpec: InputSpec }> {
  const info: ProbeInfo = {
    indices: p.probe.indices,
    ...(p.probe.split === 'train' ? { split: 'train' as const } : {}),
    labels: p.probe.labels,
    classNames: p.dataset.classNames,
    inputShape: p.dataset.inputShape,
    thumbnails: thumbnails((await p.probe.x.data()) as Float32Array, p.probe.indices.length, p.dataset.inputShape),
  };
  const norm = p.dataset.normalization;
  const perFeature = norm.method === 'minmax' || norm.method === 'standard';
  const inputSpec: InputSpec = {
    inputShape: p.dataset.inputShape,
    classNames: p.dataset.classNames,
    normalization: { method: norm.method, ...(perFeature ? { shift: Array.from(norm.shift), scale: Array.from(norm.scale) } : {}) },
  };
  const teacher: SoftLabelRecord[] = [{ kind: 'teacher', logits: softLabelRows(p.probe.teacher, p.numClasses) }];
  p.probe.members?.forEach((logits, i) => {
    const m = p.teacherMembers![i];
    teacher.push({
      kind: 'teacher',
      member: i,
      label: `Teacher ${i + 1} (w ${m.weight.toFixed(2)})`,
      name: m.describe,
      logits: softLabelRows(logits, p.numClasses),
    });
  });
  return { info, teacher, inputSpec };
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
