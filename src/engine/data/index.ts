/**
 * The engine's data layer: loads a dataset described by `data` in the config (IDX, CSV or NumPy), checks it, scales
 * it, and fingerprints it for the teacher-logit cache. Every problem with the files is one `DistillError` of kind
 * 'data' naming the file and the fix.
 */
import { createHash } from 'node:crypto';
import { LIMITS, type DataConfig, type ImagesDataConfig } from '../../shared/config';
import { DistillError } from '../../shared/errors';
import { parseNumericCsv } from './csv';
import { parseIdxImages, parseIdxLabels, peekIdxSampleShape } from './idx';
import { checkMemory, decodeSplit, imageSampleShape, listImages, listUnlabeledImages } from './images';
import { applyNormalization, computeNormalization } from './normalize';
import { parseNpy } from './npy';
import { formatBytes } from '../../shared/format';
import { dataError, fileStamp, readMaybeGzipped, recordReads, statDataFile, type FileRole } from './sourceFile';
import type { Dataset, NormalizationMethod, Samples } from './types';
import { checkUnlabeledShape, readUnlabeled, type RawUnlabeled } from './unlabeled';
import { findNonFinite, toFloat32, toLabels } from './values';

export type { Dataset, Normalization, NormalizationMethod, Samples, UnlabeledSamples } from './types';
export { applyNormalization } from './normalize';
export { encodeNpy } from './npy';
export { createRng, gatherRows, gatherSamples, labeledSubset, selectProbe, shuffledIndices, stratifiedSplit } from './sampling';
export { loadTeacherLogits } from './teacherLogits';

type SplitName = 'train' | 'test';
type Progress = (message: string) => void;

/** One split as read from its files, before scaling. */
interface RawSplit {
  /** Raw features of the first `count` rows (the `maxSamples` cut), row-major. */
  x: Float32Array;
  count: number;
  /** Labels of every row in the file: the class count and label checks look at all of them. */
  labels: Int32Array;
  sourceRows: number;
  sampleShape: number[];
  features: FileRole;
  labelFile: FileRole;
  /** Where row `i` is in the label file, for messages: `row 17 (0-based)`, `line 18, column "label"`. */
  locate: (row: number) => string;
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const sizeOf = (role: FileRole) => formatBytes(statDataFile(role));
/** Lets queued progress messages go out (IPC) between the synchronous parsing steps. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * One sample's shape, known before loading: `data.inputShape`, or an IDX images file's header. Undefined when only
 * loading can tell (CSV, NumPy, image folders).
 */
export function peekInputShape(cfg: DataConfig): number[] | undefined {
  if (cfg.inputShape) return cfg.inputShape;
  return cfg.format === 'idx' ? peekIdxSampleShape(cfg.train.images) : undefined;
}

export interface LoadOptions {
  /** Where decoded images are cached (the config's output.cacheDir); no cache when absent. */
  cacheDir?: string;
  warn?: (message: string) => void;
}

/**
 * In an engine kept for run after run (a sweep's pool): the last dataset read from IDX, CSV or NumPy files, handed
 * back while the config's `data` and every file it read are unchanged. A sweep's trials read the same data one after
 * another, and reading it again cost ~0.15 s of a 1.5 s trial, and ~80 MB outside the JS heap, whose collection
 * took CPU from the engine beside it. Image folders are not kept: a file added to a folder changes no file that was
 * read (their decoded pixels have a cache on disk). Off in a single run. Callers only read the arrays.
 */
let keptDataset: { key: string; files: Map<string, string | undefined>; dataset: Dataset } | undefined;
let keepingDataset = false;

export function keepLoadedDataset(on = true): void {
  keepingDataset = on;
  if (!on) keptDataset = undefined;
}

export async function loadDataset(cfg: DataConfig, onProgress: Progress = () => {}, options: LoadOptions = {}): Promise<Dataset> {
  if (!keepingDataset || cfg.format === 'images') return readDataset(cfg, onProgress, options);
  const key = JSON.stringify(cfg);
  const kept = keptDataset;
  if (kept?.key === key && [...kept.files].every(([file, stamp]) => stamp !== undefined && fileStamp(file) === stamp)) {
    onProgress(`${loadedMessage(kept.dataset)} (kept from the previous run in this engine; the files are unchanged)`);
    return kept.dataset;
  }
  keptDataset = undefined;
  const { value, files } = await recordReads(() => readDataset(cfg, onProgress, options));
  keptDataset = { key, files, dataset: value };
  return value;
}

function loadedMessage(d: Dataset): string {
  const extra = d.unlabeled ? ` and ${d.unlabeled.count} unlabelled` : '';
  return `Loaded ${d.train.count} train${extra} and ${d.test.count} test samples of shape [${d.inputShape.join(', ')}], ${d.numClasses} classes.`;
}

async function readDataset(cfg: DataConfig, onProgress: Progress, options: LoadOptions): Promise<Dataset> {
  const {
    train,
    test,
    classNames: layoutClasses,
    unlabeled: unlabeledImages,
  } = cfg.format === 'images'
    ? await loadImages(cfg, onProgress, options)
    : { train: await loadSplit(cfg, 'train', onProgress), test: await loadSplit(cfg, 'test', onProgress), classNames: undefined, unlabeled: undefined };
  if (product(test.sampleShape) !== product(train.sampleShape) || test.sampleShape.join() !== train.sampleShape.join()) {
    throw dataError(
      test.features,
      `has samples of shape [${test.sampleShape.join(', ')}] but the training data (${train.features.file}) has [${train.sampleShape.join(', ')}]. Train and test need the same features.`,
    );
  }
  const inputShape = resolveInputShape(cfg.inputShape, train);
  if (cfg.format !== 'images' && cfg.unlabeled) onProgress('Reading the unlabelled rows (data.unlabeled)…');
  await yieldToEventLoop();
  const unlabeled = unlabeledImages ?? readUnlabeled(cfg);
  if (unlabeled) checkUnlabeledShape(unlabeled, train.sampleShape, train.features.file);
  const { numClasses, classNames } = resolveClasses(cfg.classNames ?? layoutClasses, [train, test]);
  if (cfg.classNames && layoutClasses && cfg.classNames.length !== layoutClasses.length) {
    throw new DistillError(
      'config',
      `data.classNames lists ${cfg.classNames.length} classes, but the training images have ${layoutClasses.length} (${layoutClasses.join(', ')}). Give one name per class, in that (sorted) order, or remove data.classNames to use the folder names.`,
      { path: ['data', 'classNames'] },
    );
  }

  const method: NormalizationMethod = cfg.normalize === 'auto' ? (cfg.format === 'idx' || cfg.format === 'images' ? 'scale255' : 'none') : cfg.normalize;
  if (method !== 'none') onProgress(`Normalizing (${method === 'scale255' ? 'divide by 255' : method})…`);
  const features = product(inputShape);
  const normalization = computeNormalization(method, train.x, features);
  applyNormalization(train.x, normalization);
  applyNormalization(test.x, normalization);
  if (unlabeled) applyNormalization(unlabeled.x, normalization);

  const trainSamples: Samples = { x: train.x, y: train.labels.slice(0, train.count), count: train.count };
  const testSamples: Samples = { x: test.x, y: test.labels.slice(0, test.count), count: test.count };
  const dataset: Dataset = {
    train: trainSamples,
    test: testSamples,
    inputShape,
    numClasses,
    classNames,
    sourceRows: { train: train.sourceRows, test: test.sourceRows, ...(unlabeled ? { unlabeled: unlabeled.sourceRows } : {}) },
    fingerprint: {
      train: fingerprint(trainSamples, inputShape),
      test: fingerprint(testSamples, inputShape),
      ...(unlabeled ? { unlabeled: fingerprint({ x: unlabeled.x, y: new Int32Array(0), count: unlabeled.count }, inputShape) } : {}),
    },
    normalization,
    ...(unlabeled ? { unlabeled: { x: unlabeled.x, count: unlabeled.count } } : {}),
  };
  onProgress(loadedMessage(dataset));
  return dataset;
}

async function loadSplit(cfg: Exclude<DataConfig, ImagesDataConfig>, split: SplitName, onProgress: Progress): Promise<RawSplit> {
  const keep = cfg.maxSamples?.[split] ?? Number.MAX_SAFE_INTEGER;
  let raw: RawSplit;
  if (cfg.format === 'idx') {
    const images: FileRole = { file: cfg[split].images, field: `data.${split}.images` };
    const labels: FileRole = { file: cfg[split].labels, field: `data.${split}.labels` };
    onProgress(`Reading ${split} images (${sizeOf(images)})…`);
    await yieldToEventLoop();
    raw = readIdxSplit(images, labels, keep);
  } else if (cfg.format === 'csv') {
    const table: FileRole = { file: cfg[split].path, field: `data.${split}.path` };
    onProgress(`Reading ${split} CSV (${sizeOf(table)})…`);
    await yieldToEventLoop();
    raw = readCsvSplit(table, cfg.header, cfg.labelColumn, keep);
  } else {
    const x: FileRole = { file: cfg[split].x, field: `data.${split}.x` };
    const y: FileRole = { file: cfg[split].y, field: `data.${split}.y` };
    onProgress(`Reading ${split} arrays (${sizeOf(x)})…`);
    await yieldToEventLoop();
    raw = readNpySplit(x, y, keep);
  }
  await yieldToEventLoop();
  if (raw.sourceRows === 0) {
    const what = cfg.format === 'idx' ? 'its header says 0 images' : cfg.format === 'csv' ? 'no data rows after the header' : 'its shape has 0 rows';
    throw dataError(raw.features, `has no rows (${what}): the ${split} split needs at least one sample. Check ${raw.features.field}.`);
  }
  return raw;
}

/** Both splits of an image dataset: listed, checked against the memory limit, then decoded (or read from the cache). */
async function loadImages(
  cfg: ImagesDataConfig,
  onProgress: Progress,
  options: LoadOptions,
): Promise<{ train: RawSplit; test: RawSplit; classNames?: string[]; unlabeled?: RawUnlabeled }> {
  onProgress('Listing images…');
  const listing = listImages(cfg);
  const transfer = listUnlabeledImages(cfg);
  const keep = { train: cfg.maxSamples?.train ?? Number.MAX_SAFE_INTEGER, test: cfg.maxSamples?.test ?? Number.MAX_SAFE_INTEGER };
  const shape = imageSampleShape(cfg, listing.train[0]);
  const entries = { train: listing.train.slice(0, keep.train), test: listing.test.slice(0, keep.test) };
  const transferEntries = transfer?.entries.slice(0, cfg.maxSamples?.unlabeled ?? Number.MAX_SAFE_INTEGER);
  checkMemory(cfg, [entries.train.length, entries.test.length, ...(transferEntries ? [transferEntries.length] : [])], shape);
  const splits: RawSplit[] = [];
  for (const split of ['train', 'test'] as const) {
    const role: FileRole =
      'dir' in cfg[split]
        ? { file: (cfg[split] as { dir: string }).dir, field: `data.${split}.dir` }
        : { file: (cfg[split] as { manifest: string }).manifest, field: `data.${split}.manifest` };
    onProgress(`Reading ${entries[split].length} ${split} images from ${role.file}…`);
    const decoded = await decodeSplit(split, entries[split], shape, cfg, options.cacheDir, { log: onProgress, warn: options.warn ?? onProgress });
    if (decoded.fromCache) onProgress(`${split} images: decoded once before, read from the cache.`);
    const x = new Float32Array(decoded.pixels.length);
    x.set(decoded.pixels);
    // Labels of every listed image go into the class checks, as for the other formats.
    const labels = new Int32Array([...decoded.labels, ...listing[split].slice(entries[split].length).map((e) => e.label)]);
    splits.push({
      x,
      count: decoded.count,
      labels,
      sourceRows: decoded.count + (listing[split].length - entries[split].length),
      sampleShape: shape,
      features: role,
      labelFile: role,
      locate: (row) => decoded.files[row] ?? `image ${row} (0-based)`,
    });
  }
  let unlabeled: RawUnlabeled | undefined;
  if (transfer && transferEntries) {
    onProgress(`Reading ${transferEntries.length} unlabelled images from ${transfer.role.file} (data.unlabeled)…`);
    const decoded = await decodeSplit('unlabeled', transferEntries, shape, cfg, options.cacheDir, { log: onProgress, warn: options.warn ?? onProgress });
    if (decoded.fromCache) onProgress('unlabelled images: decoded once before, read from the cache.');
    const x = new Float32Array(decoded.pixels.length);
    x.set(decoded.pixels);
    unlabeled = { x, count: decoded.count, sourceRows: transfer.entries.length, sampleShape: shape, role: transfer.role };
  }
  return { train: splits[0], test: splits[1], classNames: listing.classNames, unlabeled };
}

function readIdxSplit(imagesRole: FileRole, labelsRole: FileRole, keep: number): RawSplit {
  const images = parseIdxImages(readMaybeGzipped(imagesRole), imagesRole);
  const labelBytes = parseIdxLabels(readMaybeGzipped(labelsRole), labelsRole);
  if (labelBytes.length !== images.count) {
    throw dataError(
      labelsRole,
      `has ${labelBytes.length} labels but ${imagesRole.file} has ${images.count} images. Both files of a split must have the same rows; check ${imagesRole.field} and ${labelsRole.field}.`,
    );
  }
  const count = Math.min(keep, images.count);
  const features = product(images.sampleShape);
  const x = new Float32Array(count * features);
  x.set(images.pixels.subarray(0, count * features));
  return {
    x,
    count,
    labels: new Int32Array(labelBytes),
    sourceRows: images.count,
    sampleShape: images.sampleShape,
    features: imagesRole,
    labelFile: labelsRole,
    locate: (row) => `row ${row} (0-based)`,
  };
}

function readCsvSplit(role: FileRole, header: boolean, labelColumn: string | number, keep: number): RawSplit {
  const table = parseNumericCsv(readMaybeGzipped(role).toString('utf8'), role, { header, labelColumn, keepRows: keep });
  const locate = (row: number) => `line ${table.lineOfRow[row]}, ${table.labelName}`;
  return {
    x: table.x,
    count: Math.min(keep, table.rows),
    labels: toLabels(table.labels, role, locate),
    sourceRows: table.rows,
    sampleShape: [table.features],
    features: role,
    labelFile: role,
    locate,
  };
}

function readNpySplit(xRole: FileRole, yRole: FileRole, keep: number): RawSplit {
  const xs = parseNpy(readMaybeGzipped(xRole), xRole);
  if (xs.shape.length < 2) {
    throw dataError(
      xRole,
      `has shape (${xs.shape.join(', ')}); expected features of shape (N, F) or (N, …) with one row per sample. Reshape it with x.reshape(len(x), -1).`,
    );
  }
  const ys = parseNpy(readMaybeGzipped(yRole), yRole);
  if (ys.kind === 'bool') throw dataError(yRole, `has dtype '${ys.dtype}'; expected integer class labels (e.g. '<i8'). Save them with y.astype(numpy.int64).`);
  const labelsAreColumn = ys.shape.length === 2 && ys.shape[1] === 1;
  if (ys.shape.length !== 1 && !labelsAreColumn) {
    const oneHot = ys.shape.length === 2 ? ' If these are one-hot, save y.argmax(axis=1) instead.' : '';
    throw dataError(yRole, `has shape (${ys.shape.join(', ')}); expected integer labels of shape (N,).${oneHot}`);
  }
  const sourceRows = xs.shape[0];
  if (ys.shape[0] !== sourceRows) {
    throw dataError(
      yRole,
      `has ${ys.shape[0]} labels but ${xRole.file} has ${sourceRows} rows. Both arrays of a split must have the same rows; check ${xRole.field} and ${yRole.field}.`,
    );
  }
  const locate = (row: number) => `row ${row} (0-based)`;
  const labels = toLabels(ys.data, yRole, locate);
  const sampleShape = xs.shape.slice(1);
  const features = product(sampleShape);
  const count = Math.min(keep, sourceRows);
  const x = toFloat32(xs.data, 0, count * features);
  if (xs.kind === 'float') {
    const bad = findNonFinite(x);
    if (bad >= 0) {
      const original = Number(xs.data[bad]);
      const problem = Number.isFinite(original)
        ? `the value ${original} is outside the float32 range. Rescale this feature.`
        : `the value ${original} is not finite. Remove or fill in missing values before saving.`;
      throw dataError(xRole, `row ${Math.floor(bad / features)} (0-based), feature ${bad % features} (0-based, row-major): ${problem}`);
    }
  }
  return { x, count, labels, sourceRows, sampleShape, features: xRole, labelFile: yRole, locate };
}

function resolveInputShape(configured: number[] | undefined, train: RawSplit): number[] {
  const features = product(train.sampleShape);
  const role: FileRole = { file: train.features.file, field: 'data.inputShape' };
  if (configured) {
    if (product(configured) !== features) {
      throw dataError(
        role,
        `has ${features} features per sample (shape [${train.sampleShape.join(', ')}]), but data.inputShape [${configured.join(', ')}] ` +
          `has ${product(configured)}. Give data.inputShape dimensions that multiply to ${features}, or remove it.`,
      );
    }
    return [...configured];
  }
  if (train.sampleShape.length > 3) {
    throw dataError(role, `has samples of shape [${train.sampleShape.join(', ')}]; models take at most 3 dimensions. Set data.inputShape, e.g. [${features}].`);
  }
  return train.sampleShape;
}

function resolveClasses(configured: string[] | undefined, splits: RawSplit[]): { numClasses: number; classNames: string[] } {
  if (configured) {
    for (const split of splits) {
      const labels = split.labels;
      for (let i = 0; i < labels.length; i++) {
        if (labels[i] >= configured.length) {
          throw dataError(
            split.labelFile,
            `${split.locate(i)}: label ${labels[i]} has no class name; data.classNames lists ${configured.length} classes (labels 0 to ${configured.length - 1}). ` +
              `Add the missing names to data.classNames, or fix the labels.`,
          );
        }
      }
    }
    return { numClasses: configured.length, classNames: [...configured] };
  }
  let maxLabel = 0;
  for (const { labels } of splits) for (let i = 0; i < labels.length; i++) if (labels[i] > maxLabel) maxLabel = labels[i];
  if (maxLabel < 1) {
    throw dataError(
      splits[0].labelFile,
      `every label in the train and test data is 0: a classifier needs at least 2 classes. Check ${splits[0].labelFile.field}${splits[0].labelFile.field.endsWith('path') ? ' and data.labelColumn' : ''}.`,
    );
  }
  const numClasses = maxLabel + 1;
  if (numClasses > LIMITS.classes) {
    const at = splits.map((s) => ({ s, i: s.labels.indexOf(maxLabel) })).find(({ i }) => i >= 0)!;
    throw dataError(
      at.s.labelFile,
      `${at.s.locate(at.i)}: label ${maxLabel} would mean ${numClasses} classes, more than the ${LIMITS.classes} a run supports. Labels must be class indices 0, 1, 2, …; check ${at.s.labelFile.field}.`,
    );
  }
  return { numClasses, classNames: Array.from({ length: numClasses }, (_, c) => String(c)) };
}

/** sha256 over the sample shape, the normalized features and the labels: equal data gives an equal key. */
function fingerprint(samples: Samples, inputShape: number[]): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ version: 1, count: samples.count, inputShape }));
  hash.update(new Uint8Array(samples.x.buffer, samples.x.byteOffset, samples.x.byteLength));
  hash.update(new Uint8Array(samples.y.buffer, samples.y.byteOffset, samples.y.byteLength));
  return hash.digest('hex');
}
