/**
 * `data.unlabeled`: a transfer set of inputs without labels, in the format of the rest of the data (IDX images with
 * no labels file, `.npy` x with no y, CSV without the label column). Read raw here; the caller scales it with the
 * training rows' normalization and checks its sample shape against them.
 */
import type { DataConfig } from '../../shared/config';
import { parseNumericCsv } from './csv';
import { parseIdxImages } from './idx';
import { parseNpy } from './npy';
import { dataError, readMaybeGzipped, type FileRole } from './sourceFile';
import { findNonFinite, toFloat32 } from './values';

export interface RawUnlabeled {
  x: Float32Array;
  count: number;
  sourceRows: number;
  sampleShape: number[];
  role: FileRole;
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** The raw unlabelled rows, or undefined when the config has none. */
export function readUnlabeled(cfg: DataConfig): RawUnlabeled | undefined {
  // Image folders' unlabelled rows are decoded with their other images (images.ts).
  if (cfg.format === 'images' || !cfg.unlabeled) return undefined;
  const keep = cfg.maxSamples?.unlabeled ?? Number.MAX_SAFE_INTEGER;
  if (cfg.format === 'idx') {
    const role: FileRole = { file: cfg.unlabeled.images, field: 'data.unlabeled.images' };
    const images = parseIdxImages(readMaybeGzipped(role), role);
    const count = Math.min(keep, images.count);
    const x = new Float32Array(count * product(images.sampleShape));
    x.set(images.pixels.subarray(0, x.length));
    return { x, count, sourceRows: images.count, sampleShape: images.sampleShape, role };
  }
  if (cfg.format === 'csv') {
    const role: FileRole = { file: cfg.unlabeled.path, field: 'data.unlabeled.path' };
    const table = parseNumericCsv(readMaybeGzipped(role).toString('utf8'), role, { header: cfg.header, labelColumn: null, keepRows: keep });
    return { x: table.x, count: Math.min(keep, table.rows), sourceRows: table.rows, sampleShape: [table.features], role };
  }
  const role: FileRole = { file: cfg.unlabeled.x, field: 'data.unlabeled.x' };
  const xs = parseNpy(readMaybeGzipped(role), role);
  if (xs.shape.length < 2) {
    throw dataError(
      role,
      `has shape (${xs.shape.join(', ')}); expected features of shape (N, F) or (N, …) with one row per sample. Reshape it with x.reshape(len(x), -1).`,
    );
  }
  const sampleShape = xs.shape.slice(1);
  const count = Math.min(keep, xs.shape[0]);
  const x = toFloat32(xs.data, 0, count * product(sampleShape));
  if (xs.kind === 'float') {
    const bad = findNonFinite(x);
    if (bad >= 0)
      throw dataError(
        role,
        `row ${Math.floor(bad / product(sampleShape))} (0-based): the value ${Number(xs.data[bad])} is not finite or outside the float32 range. Remove or rescale it before saving.`,
      );
  }
  return { x, count, sourceRows: xs.shape[0], sampleShape, role };
}

/** The unlabelled rows must have the training rows' features: same count, and the same shape where both have one. */
export function checkUnlabeledShape(raw: RawUnlabeled, trainShape: number[], trainFile: string): void {
  if (product(raw.sampleShape) !== product(trainShape) || (raw.sampleShape.length > 1 && raw.sampleShape.join() !== trainShape.join())) {
    const csvHint = raw.role.field === 'data.unlabeled.path' ? ' A CSV of unlabelled rows has the training columns without the label column.' : '';
    throw dataError(
      raw.role,
      `has samples of shape [${raw.sampleShape.join(', ')}] but the training data (${trainFile}) has [${trainShape.join(', ')}]. The unlabelled rows (${raw.role.field}) need the same features.${csvHint}`,
    );
  }
}
