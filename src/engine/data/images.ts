/**
 * Image datasets: PNG and JPEG files in one subfolder per class (torchvision's ImageFolder layout, class names from
 * the folder names, sorted) or listed in a `.csv` / `.jsonl` manifest. Decoded with pngjs and jpeg-js (pure
 * JavaScript, from npm alone), converted to `data.inputShape` (grayscale or RGB, resized), and cached as one
 * compact binary per split under `<cacheDir>/images/`, keyed by the content of every image and the settings, so a
 * second run reads one file instead of decoding again.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { ImagesDataConfig } from '../../shared/config';
import { DistillError } from '../../shared/errors';
import { writeFileAtomic } from '../../shared/runDir';
import { formatBytes } from '../../shared/format';
import { dataError, type FileRole } from './sourceFile';

type LabeledSplit = 'train' | 'test';
type SplitName = LabeledSplit | 'unlabeled';

export interface ImageEntry {
  file: string;
  label: number;
}

export interface ImageSplit {
  /** uint8 pixels of the kept rows, `[count, H, W, C]`. */
  pixels: Uint8Array;
  /** Labels of the kept rows. */
  labels: Int32Array;
  count: number;
  /** Images listed (before maxSamples and skipping). */
  sourceRows: number;
  files: string[];
  skipped: { file: string; reason: string }[];
  fromCache: boolean;
}

export interface ImagesProgress {
  log(message: string): void;
  warn(message: string): void;
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;
const DEFAULT_MEMORY_LIMIT_MIB = 4096;
const CACHE_VERSION = 1;

const splitRole = (split: LabeledSplit, cfg: ImagesDataConfig): FileRole => {
  const s = cfg[split];
  return 'dir' in s ? { file: s.dir, field: `data.${split}.dir` } : { file: s.manifest, field: `data.${split}.manifest` };
};

/** `read()` of the folder `role` names, its failures as data errors: missing, a file (then `whatItNames` says what
 *  belongs there), or unreadable. */
function readFolder<T>(role: FileRole, read: () => T, whatItNames: string): T {
  try {
    return read();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new DistillError(
        'data',
        `Image folder not found: ${role.file}. Fix ${role.field} in the config (relative paths resolve against the config file's folder).`,
        { file: role.file, path: role.field.split('.') },
      );
    if (code === 'ENOTDIR') throw dataError(role, `is a file, not a folder. ${whatItNames}`);
    throw dataError(role, `cannot be read (${(e as Error).message}).`);
  }
}

/** The class folders of `dir`, sorted, each with its images, sorted by name. */
function listClassFolders(role: FileRole): { classes: string[]; files: string[][] } {
  const entries = readFolder(
    role,
    () => fs.readdirSync(role.file, { withFileTypes: true }),
    `${role.field} names a folder with one subfolder per class; for a list of images use data.${role.field.split('.')[1]}.manifest.`,
  );
  const classes = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (classes.length === 0) {
    const loose = entries.filter((e) => e.isFile() && IMAGE_EXT.test(e.name)).length;
    throw dataError(
      role,
      `has no class subfolders${loose ? ` (it holds ${loose} images directly)` : ''}. Put each class's images in a subfolder named after the class (${path.join(role.file, 'cat', '1.png')}), or list them in a manifest (data.${role.field.split('.')[1]}.manifest).`,
    );
  }
  const files = classes.map((c) => {
    const folder = path.join(role.file, c);
    const images = fs
      .readdirSync(folder)
      .filter((f) => IMAGE_EXT.test(f) && !f.startsWith('.'))
      .sort()
      .map((f) => path.join(folder, f));
    if (images.length === 0)
      throw dataError({ file: folder, field: role.field }, `class folder "${c}" has no PNG or JPEG images. Add images, or remove the folder.`);
    return images;
  });
  return { classes, files };
}

/** `path,label` rows of a `.csv` (header required) or `.jsonl` manifest, paths resolved against its folder. */
function readManifest(role: FileRole, withLabels = true): { file: string; label: string | number; line: number }[] {
  let text: string;
  try {
    text = fs.readFileSync(role.file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new DistillError('data', `Image manifest not found: ${role.file}. Fix ${role.field} in the config.`, {
        file: role.file,
        path: role.field.split('.'),
      });
    throw dataError(role, `cannot be read (${(e as Error).message}).`);
  }
  const base = path.dirname(role.file);
  const rows: { file: string; label: string | number; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  if (role.file.toLowerCase().endsWith('.jsonl')) {
    lines.forEach((l, i) => {
      if (!l.trim()) return;
      let o: { path?: unknown; label?: unknown };
      try {
        o = JSON.parse(l);
      } catch (e) {
        throw dataError(role, `line ${i + 1} is not valid JSON (${(e as Error).message}). Each line must be {"path": "…", "label": …}.`);
      }
      if (typeof o?.path !== 'string' || (withLabels && typeof o.label !== 'string' && typeof o.label !== 'number')) {
        throw dataError(role, `line ${i + 1} needs a string "path" and a "label" (a class index or name), e.g. {"path": "cat/1.png", "label": "cat"}.`);
      }
      rows.push({ file: path.resolve(base, o.path), label: withLabels ? (o.label as string | number) : -1, line: i + 1 });
    });
  } else {
    const header = (lines[0] ?? '').split(',').map((h) => h.trim().replace(/^"|"$/g, '').toLowerCase());
    const pi = header.indexOf('path');
    const li = header.indexOf('label');
    if (pi < 0 || (withLabels && li < 0))
      throw dataError(
        role,
        `needs a header row naming the columns ${withLabels ? '"path" and "label"' : '"path"'} (it has ${JSON.stringify(lines[0] ?? '')}).`,
      );
    lines.slice(1).forEach((l, i) => {
      if (!l.trim()) return;
      const cells = l.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
      if (!withLabels) {
        if (!cells[pi]) throw dataError(role, `line ${i + 2} has no path.`);
        rows.push({ file: path.resolve(base, cells[pi]), label: -1, line: i + 2 });
        return;
      }
      const label = cells[li];
      if (!cells[pi] || label === undefined || label === '') throw dataError(role, `line ${i + 2} has no path or no label.`);
      rows.push({ file: path.resolve(base, cells[pi]), label: /^\d+$/.test(label) ? Number(label) : label, line: i + 2 });
    });
  }
  if (rows.length === 0) throw dataError(role, 'lists no images.');
  return rows;
}

/** Every PNG and JPEG under `dir`, at any depth, sorted by path: a transfer set needs no classes. */
function listImageTree(role: FileRole): string[] {
  const names = readFolder(
    role,
    () => fs.readdirSync(role.file, { recursive: true, encoding: 'utf8' }),
    `${role.field} names a folder of images; for a list of images use data.unlabeled.manifest.`,
  );
  const files = names
    .filter((n) => IMAGE_EXT.test(n) && !n.split(path.sep).some((part) => part.startsWith('.')))
    .sort()
    .map((n) => path.join(role.file, n));
  if (files.length === 0) throw dataError(role, `holds no PNG or JPEG images (subfolders included). Point ${role.field} at the folder of unlabelled images.`);
  return files;
}

/** The images of `data.unlabeled` (label -1: they have none), or undefined when the config has none. */
export function listUnlabeledImages(cfg: ImagesDataConfig): { role: FileRole; entries: ImageEntry[] } | undefined {
  const u = cfg.unlabeled;
  if (!u) return undefined;
  if ('dir' in u) {
    const role: FileRole = { file: u.dir, field: 'data.unlabeled.dir' };
    return { role, entries: listImageTree(role).map((file) => ({ file, label: -1 })) };
  }
  const role: FileRole = { file: u.manifest, field: 'data.unlabeled.manifest' };
  return { role, entries: readManifest(role, false).map((r) => ({ file: r.file, label: -1 })) };
}

export interface ImageListing {
  train: ImageEntry[];
  test: ImageEntry[];
  /** Class names, when the layout gives them (folders, or named labels in a manifest). */
  classNames?: string[];
}

/** Lists both splits and their labels, checking the class folders of test against train's. */
export function listImages(cfg: ImagesDataConfig): ImageListing {
  const trainRole = splitRole('train', cfg);
  const testRole = splitRole('test', cfg);
  const list = (role: FileRole, s: ImagesDataConfig['train']) =>
    'dir' in s ? { kind: 'dir' as const, ...listClassFolders(role) } : { kind: 'manifest' as const, rows: readManifest(role) };
  const train = list(trainRole, cfg.train);
  const test = list(testRole, cfg.test);

  let classNames: string[] | undefined;
  const entries: Record<LabeledSplit, ImageEntry[]> = { train: [], test: [] };
  if (train.kind === 'dir') classNames = train.classes;
  else {
    const named = train.rows.filter((r) => typeof r.label === 'string');
    if (named.length) classNames = [...new Set(named.map((r) => String(r.label)))].sort();
  }
  for (const [split, listing, role] of [
    ['train', train, trainRole],
    ['test', test, testRole],
  ] as const) {
    if (listing.kind === 'dir') {
      listing.classes.forEach((c, i) => {
        const label = classNames ? classNames.indexOf(c) : -1;
        if (label < 0) {
          throw dataError(
            role,
            `has a class folder "${c}" that the training data (${trainRole.file}) lacks${classNames ? `; its classes are ${classNames.map((n) => `"${n}"`).join(', ')}` : ''}. The test classes must be among the training classes: rename or remove the folder.`,
          );
        }
        for (const file of listing.files[i]) entries[split].push({ file, label });
      });
    } else {
      for (const r of listing.rows) {
        let label: number;
        if (typeof r.label === 'number') label = r.label;
        else {
          label = classNames ? classNames.indexOf(r.label) : -1;
          if (label < 0)
            throw dataError(
              role,
              `line ${r.line}: class "${r.label}" is not among the training classes (${(classNames ?? []).join(', ')}). Fix the label or add the class to the training data.`,
            );
        }
        entries[split].push({ file: r.file, label });
      }
    }
  }
  return { train: entries.train, test: entries.test, classNames };
}

// ---------------------------------------------------------------- decoding

interface Decoded {
  width: number;
  height: number;
  /** RGBA (PNG) or RGB (JPEG) bytes. */
  data: Uint8Array;
  stride: 3 | 4;
  color: boolean;
}

class BadImage extends Error {}

function decodeImage(bytes: Buffer): Decoded {
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47) {
    let png: PNG & { color?: boolean };
    try {
      png = PNG.sync.read(bytes) as PNG & { color?: boolean };
    } catch (e) {
      throw new BadImage(`corrupt PNG (${(e as Error).message})`);
    }
    return { width: png.width, height: png.height, data: png.data, stride: 4, color: png.color !== false };
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    let img: { width: number; height: number; data: Uint8Array };
    try {
      img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
    } catch (e) {
      throw new BadImage(`corrupt JPEG (${(e as Error).message})`);
    }
    // jpeg-js always returns RGB; a one-component (grayscale) JPEG has R = G = B everywhere.
    let color = false;
    for (let i = 0; i < img.data.length; i += 3) {
      if (img.data[i] !== img.data[i + 1] || img.data[i] !== img.data[i + 2]) {
        color = true;
        break;
      }
    }
    return { width: img.width, height: img.height, data: img.data, stride: 3, color };
  }
  throw new BadImage(bytes.length === 0 ? 'empty file' : 'not a PNG or JPEG file (unknown signature)');
}

/** One channel plane per output channel, at the image's own size: grayscale (ITU-R 601 luma, as PIL's "L") or RGB. */
function toChannels(img: Decoded, channels: number): Float32Array[] {
  const n = img.width * img.height;
  const planes = Array.from({ length: channels }, () => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    const o = i * img.stride;
    const [r, g, b] = [img.data[o], img.data[o + 1], img.data[o + 2]];
    if (channels === 1) planes[0][i] = img.color ? (r * 299 + g * 587 + b * 114) / 1000 : r;
    else for (let c = 0; c < channels; c++) planes[c][i] = [r, g, b][c];
  }
  return planes;
}

/** Resizes (after an optional centre crop) into `out` at `[h, w, C]` interleaved, rounding to bytes. */
function resizeInto(
  planes: Float32Array[],
  srcW: number,
  srcH: number,
  h: number,
  w: number,
  mode: 'bilinear' | 'nearest',
  fit: 'stretch' | 'crop',
  out: Uint8Array,
  offset: number,
): void {
  // The source window: the whole image, or its centre at the target's aspect ratio.
  let [x0, y0, cw, ch] = [0, 0, srcW, srcH];
  if (fit === 'crop' && srcW * h !== srcH * w) {
    if (srcW * h > srcH * w) {
      cw = (srcH * w) / h;
      x0 = (srcW - cw) / 2;
    } else {
      ch = (srcW * h) / w;
      y0 = (srcH - ch) / 2;
    }
  }
  const channels = planes.length;
  const sx = cw / w;
  const sy = ch / h;
  const same = x0 === 0 && y0 === 0 && cw === w && ch === h;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < channels; c++) {
        const p = planes[c];
        let v: number;
        if (same) v = p[y * srcW + x];
        else if (mode === 'nearest') {
          const ix = Math.min(srcW - 1, Math.floor(x0 + (x + 0.5) * sx));
          const iy = Math.min(srcH - 1, Math.floor(y0 + (y + 0.5) * sy));
          v = p[iy * srcW + ix];
        } else {
          // Half-pixel centres, clamped at the edges.
          const fx = Math.min(Math.max(x0 + (x + 0.5) * sx - 0.5, 0), srcW - 1);
          const fy = Math.min(Math.max(y0 + (y + 0.5) * sy - 0.5, 0), srcH - 1);
          const [ix, iy] = [Math.floor(fx), Math.floor(fy)];
          const [ix1, iy1] = [Math.min(ix + 1, srcW - 1), Math.min(iy + 1, srcH - 1)];
          const [ax, ay] = [fx - ix, fy - iy];
          const top = p[iy * srcW + ix] * (1 - ax) + p[iy * srcW + ix1] * ax;
          const bottom = p[iy1 * srcW + ix] * (1 - ax) + p[iy1 * srcW + ix1] * ax;
          v = top * (1 - ay) + bottom * ay;
        }
        out[offset + (y * w + x) * channels + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
}

/** The sample shape: `data.inputShape`, or the first training image's size, grayscale or RGB as it is. */
export function imageSampleShape(cfg: ImagesDataConfig, first: ImageEntry): number[] {
  if (cfg.inputShape) {
    if (cfg.inputShape.length !== 3 || ![1, 3].includes(cfg.inputShape[2])) {
      throw new DistillError(
        'config',
        `data.inputShape for images must be [height, width, 1] (grayscale) or [height, width, 3] (RGB), not [${cfg.inputShape.join(', ')}].`,
        { path: ['data', 'inputShape'] },
      );
    }
    return [...cfg.inputShape];
  }
  let img: Decoded;
  try {
    img = decodeImage(fs.readFileSync(first.file));
  } catch (e) {
    throw new DistillError(
      'data',
      `${first.file}: ${(e as Error).message}; it is the first training image, whose size sets the input shape. Fix or remove it, or set data.inputShape.`,
      { file: first.file },
    );
  }
  return [img.height, img.width, img.color ? 3 : 1];
}

/** Decoded bytes of every split: `count × H × W × C`, plus 4 bytes of float32 per value once normalized. */
export function checkMemory(cfg: ImagesDataConfig, counts: number[], shape: number[]): void {
  const values = counts.reduce((a, b) => a + b, 0) * shape.reduce((a, b) => a * b, 1);
  const bytes = values * 5;
  const limit = (cfg.memoryLimitMB ?? DEFAULT_MEMORY_LIMIT_MIB) * 1024 * 1024;
  if (bytes > limit) {
    throw new DistillError(
      'data',
      `The images would take ${formatBytes(bytes)} of memory once decoded (${counts.join(' + ')} images of [${shape.join(', ')}], as bytes and float32), over the limit of ${formatBytes(limit)}. ` +
        `Use fewer images (data.maxSamples), a smaller data.inputShape, or raise data.memoryLimitMB (in MiB).`,
      { path: ['data', 'memoryLimitMB'] },
    );
  }
}

/**
 * Decodes one split into `[count, H, W, C]` bytes, or reads it from the cache. The cache key covers every image's
 * content, its label and the settings that change the pixels, so an edited image or setting decodes again.
 */
export async function decodeSplit(
  split: SplitName,
  entries: ImageEntry[],
  shape: number[],
  cfg: ImagesDataConfig,
  cacheDir: string | undefined,
  progress: ImagesProgress,
): Promise<ImageSplit> {
  const [h, w, channels] = shape;
  const mode = cfg.resizeMode ?? 'bilinear';
  const fit = cfg.fit ?? 'stretch';
  const onBad = cfg.onBadImage ?? 'error';
  const hash = createHash('sha256').update(JSON.stringify({ version: CACHE_VERSION, shape, mode, fit, onBad, explicitShape: !!cfg.inputShape }));
  const contents: (Buffer | Error)[] = [];
  for (const e of entries) {
    let bytes: Buffer | Error;
    try {
      bytes = fs.readFileSync(e.file);
    } catch (err) {
      bytes = err as Error;
    }
    contents.push(bytes);
    hash
      .update(`${e.label}\0`)
      .update(bytes instanceof Error ? `unreadable:${(bytes as NodeJS.ErrnoException).code}` : createHash('sha256').update(bytes).digest('hex'));
  }
  const key = hash.digest('hex');
  const cacheFile = cacheDir ? path.join(cacheDir, 'images', `${key.slice(0, 40)}.bin`) : undefined;
  if (cacheFile && fs.existsSync(cacheFile)) {
    const cached = readCache(cacheFile, entries, shape);
    if (cached) return cached;
  }

  const size = h * w * channels;
  const pixels = new Uint8Array(entries.length * size);
  const labels = new Int32Array(entries.length);
  const files: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  let colorSeen: string | undefined;
  let graySeen: string | undefined;
  let lastReport = Date.now();
  let count = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const bytes = contents[i];
    let img: Decoded;
    try {
      if (bytes instanceof Error) throw new BadImage(`cannot be read (${(bytes as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : bytes.message})`);
      img = decodeImage(bytes);
    } catch (err) {
      if (!(err instanceof BadImage)) throw err;
      if (onBad === 'skip') {
        skipped.push({ file: e.file, reason: err.message });
        continue;
      }
      throw new DistillError('data', `${e.file}: ${err.message}. Fix or remove the image, or set data.onBadImage to "skip" to leave bad images out.`, {
        file: e.file,
        path: ['data', 'onBadImage'],
      });
    }
    if (img.color) colorSeen ??= e.file;
    else graySeen ??= e.file;
    if (!cfg.inputShape && colorSeen && graySeen) {
      throw new DistillError(
        'data',
        `The images mix channel counts: ${colorSeen} is colour (RGB) but ${graySeen} is grayscale. Set data.inputShape to [${h}, ${w}, 3] to read every image as RGB, or [${h}, ${w}, 1] for grayscale.`,
        { path: ['data', 'inputShape'] },
      );
    }
    resizeInto(toChannels(img, channels), img.width, img.height, h, w, mode, fit, pixels, count * size);
    labels[count] = e.label;
    files.push(e.file);
    count++;
    if (Date.now() - lastReport > 1000) {
      lastReport = Date.now();
      progress.log(`Decoding ${split} images: ${i + 1} / ${entries.length} (${Math.floor((100 * (i + 1)) / entries.length)}%)…`);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  if (skipped.length) {
    progress.warn(
      `Skipped ${skipped.length} bad ${split} image${skipped.length === 1 ? '' : 's'} (data.onBadImage "skip"): ${skipped
        .slice(0, 5)
        .map((s) => `${s.file} (${s.reason})`)
        .join('; ')}${skipped.length > 5 ? `; and ${skipped.length - 5} more` : ''}.`,
    );
  }
  if (count === 0)
    throw new DistillError('data', `No ${split} image could be decoded (${skipped.length} skipped as bad). Check data.${split}.`, { path: ['data', split] });
  const out: ImageSplit = {
    pixels: pixels.subarray(0, count * size),
    labels: labels.subarray(0, count),
    count,
    sourceRows: entries.length,
    files,
    skipped,
    fromCache: false,
  };
  if (cacheFile) writeCache(cacheFile, out);
  return out;
}

/** Cache file: a JSON header line, then the pixels, then the labels as int32. */
function writeCache(file: string, s: ImageSplit): void {
  const header = Buffer.from(JSON.stringify({ version: CACHE_VERSION, count: s.count, sourceRows: s.sourceRows, skipped: s.skipped, files: s.files }) + '\n');
  const labels = Buffer.from(s.labels.buffer, s.labels.byteOffset, s.labels.byteLength);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, Buffer.concat([header, Buffer.from(s.pixels.buffer, s.pixels.byteOffset, s.pixels.byteLength), labels]));
}

function readCache(file: string, entries: ImageEntry[], shape: number[]): ImageSplit | undefined {
  try {
    const buf = fs.readFileSync(file);
    const nl = buf.indexOf(0x0a);
    const header = JSON.parse(buf.subarray(0, nl).toString('utf8')) as {
      version: number;
      count: number;
      sourceRows: number;
      skipped: ImageSplit['skipped'];
      files: string[];
    };
    const size = shape.reduce((a, b) => a * b, 1);
    const start = nl + 1;
    if (header.version !== CACHE_VERSION || header.sourceRows !== entries.length || buf.length !== start + header.count * size + header.count * 4)
      return undefined;
    const pixels = new Uint8Array(buf.subarray(start, start + header.count * size));
    const labelBytes = buf.subarray(start + header.count * size);
    const labels = new Int32Array(header.count);
    new Uint8Array(labels.buffer).set(labelBytes);
    return { pixels, labels, count: header.count, sourceRows: header.sourceRows, files: header.files, skipped: header.skipped, fromCache: true };
  } catch {
    return undefined;
  }
}
