/**
 * Image datasets found in the workspace: folders in torchvision's ImageFolder layout (`root/<class>/<image>`), with
 * a `train` folder paired to its `test` (or `val`) sibling, as the Models view offers them for "Use as Data". Pure:
 * it works on the list of image paths the workspace search returned, so it runs in plain Node.
 */
import * as path from 'node:path';

export interface ImageFolder {
  dir: string;
  classes: string[];
  images: number;
}

export interface ImageDatasetEntry {
  kind: 'image-folders';
  /** The folder to train on (`train/`, or a lone ImageFolder). */
  train: ImageFolder;
  /** Its test split, when a sibling folder named like one has the same classes. */
  test?: ImageFolder;
}

export const IMAGE_FILE = /\.(png|jpe?g)$/i;
const TRAIN_NAME = /^(train|training)$/i;
const TEST_NAMES = ['test', 'testing', 'val', 'valid', 'validation'];

/**
 * The ImageFolder roots among `files`: a folder whose subfolders (at least two, each holding images directly) are
 * its classes. A folder that holds images itself as well is not one: its images would have no class.
 */
export function findImageFolders(files: readonly string[]): ImageFolder[] {
  const perClassDir = new Map<string, number>();
  for (const f of files) if (IMAGE_FILE.test(f)) perClassDir.set(path.dirname(f), (perClassDir.get(path.dirname(f)) ?? 0) + 1);
  const roots = new Map<string, { classes: string[]; images: number }>();
  for (const [classDir, count] of perClassDir) {
    const root = path.dirname(classDir);
    if (root === classDir) continue;
    const r = roots.get(root) ?? { classes: [], images: 0 };
    r.classes.push(path.basename(classDir));
    r.images += count;
    roots.set(root, r);
  }
  return [...roots]
    .filter(([root, r]) => r.classes.length >= 2 && !perClassDir.has(root))
    .map(([dir, r]) => ({ dir, classes: r.classes.sort(), images: r.images }))
    .sort((a, b) => a.dir.localeCompare(b.dir));
}

/** The ImageFolders as datasets: `train/` with its `test/` (or `val/`) sibling of the same classes as one entry. */
export function imageDatasets(files: readonly string[]): ImageDatasetEntry[] {
  const folders = findImageFolders(files);
  const byDir = new Map(folders.map((f) => [f.dir, f]));
  const paired = new Set<string>();
  const entries: ImageDatasetEntry[] = [];
  for (const f of folders) {
    if (!TRAIN_NAME.test(path.basename(f.dir))) continue;
    const test = TEST_NAMES.map((n) => byDir.get(path.join(path.dirname(f.dir), n))).find((t) => t && t.classes.every((c) => f.classes.includes(c)));
    entries.push({ kind: 'image-folders', train: f, ...(test ? { test } : {}) });
    paired.add(f.dir);
    if (test) paired.add(test.dir);
  }
  for (const f of folders) if (!paired.has(f.dir)) entries.push({ kind: 'image-folders', train: f });
  return entries.sort((a, b) => a.train.dir.localeCompare(b.train.dir));
}

/** "10 classes · 600 images", plus the test split's count when there is one. */
export function describeImageDataset(e: ImageDatasetEntry): string {
  const n = (k: number) => k.toLocaleString('en-US');
  return `${e.train.classes.length} classes · ${n(e.train.images)} images${e.test ? ` + ${n(e.test.images)} in ${path.basename(e.test.dir)}/` : ''}`;
}
