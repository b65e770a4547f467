/**
 * Reading data files from disk with errors a user can act on: which file, which config field points at it, and
 * what to do. Gzip is recognised by its magic bytes, not by the file name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DistillError } from '../../shared/errors';
import { formatBytes } from '../../shared/format';

/** Where a file came from in the config, e.g. `data.train.images`; named in every error about it. */
export interface FileRole {
  file: string;
  field: string;
}

export function dataError(role: FileRole, message: string): DistillError {
  return new DistillError('data', `${role.file}: ${message}`, { file: role.file, path: role.field.split('.') });
}

/** The file's size in bytes; a missing file is a user error naming the config field to fix. */
export function statDataFile(role: FileRole): number {
  try {
    const stat = fs.statSync(role.file);
    if (!stat.isFile()) throw dataError(role, `is not a file. Set ${role.field} in the config to a file.`);
    return stat.size;
  } catch (e) {
    if (e instanceof DistillError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new DistillError(
        'data',
        `Data file not found: ${role.file}. Fix ${role.field} in the config (relative paths resolve against the config file's folder).`,
        { file: role.file, path: role.field.split('.') },
      );
    }
    throw dataError(role, `cannot be read (${(e as Error).message}). Check the file's permissions or ${role.field}.`);
  }
}

export function readDataFile(role: FileRole): Buffer {
  statDataFile(role);
  noteRead(role.file);
  try {
    return fs.readFileSync(role.file);
  } catch (e) {
    throw dataError(role, `cannot be read (${(e as Error).message}). Check the file's permissions or ${role.field}.`);
  }
}

export const isGzip = (bytes: Uint8Array) => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/**
 * How far a gzip file may expand. Its real size is known only by decompressing it, so a damaged file or a
 * decompression bomb (deflate reaches ~1000:1) is stopped here rather than by running out of memory.
 */
export const MAX_GUNZIPPED_BYTES = 2 * 1024 ** 3;

/**
 * In an engine kept for run after run (a sweep's pool): decompressed files by path, size and modification time, so
 * every trial after the first skips the gunzip (0.4 s of a 2 s trial for Fashion-MNIST's training images). At most
 * `KEPT_BYTES` are kept, the oldest dropped first. Off in a single run, which reads each file once. Callers only read
 * the buffers (the parsers return views into them).
 */
let decompressed: { files: Map<string, Buffer>; bytes: number } | undefined;
const KEPT_BYTES = 1024 ** 3;

/** What identifies a file's version without reading it: its path, size and modification time; undefined if absent. */
export function fileStamp(file: string): string | undefined {
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  return stat && `${path.resolve(file)}\0${stat.size}\0${stat.mtimeMs}`;
}

/** The files read while `recordReads` runs, with their stamps as they were read. */
let reads: Map<string, string | undefined> | undefined;

function noteRead(file: string): void {
  if (reads && !reads.has(file)) reads.set(file, fileStamp(file));
}

/** Runs `load`, and tells which data files it read (through this module) and their stamps. Not reentrant. */
export async function recordReads<T>(load: () => Promise<T>): Promise<{ value: T; files: Map<string, string | undefined> }> {
  const files = (reads = new Map());
  try {
    return { value: await load(), files };
  } finally {
    reads = undefined;
  }
}

export function keepDecompressedFiles(on = true): void {
  decompressed = on ? (decompressed ?? { files: new Map(), bytes: 0 }) : undefined;
}

function keep(key: string, contents: Buffer): Buffer {
  if (!decompressed || contents.length > KEPT_BYTES) return contents;
  for (const [oldest, old] of decompressed.files) {
    if (decompressed.bytes + contents.length <= KEPT_BYTES) break;
    decompressed.files.delete(oldest);
    decompressed.bytes -= old.length;
  }
  decompressed.files.set(key, contents);
  decompressed.bytes += contents.length;
  return contents;
}

/** The file's contents, decompressed when it starts with the gzip magic bytes `1f 8b`. */
export function readMaybeGzipped(role: FileRole, maxBytes = MAX_GUNZIPPED_BYTES): Buffer {
  let key: string | undefined;
  if (decompressed) {
    const stamp = fileStamp(role.file);
    key = stamp && `${stamp}\0${maxBytes}`;
    const kept = key && decompressed.files.get(key);
    if (kept) {
      noteRead(role.file);
      return kept;
    }
  }
  const raw = readDataFile(role);
  if (!isGzip(raw)) return raw;
  try {
    const contents = gunzipSync(raw, { maxOutputLength: maxBytes });
    return key ? keep(key, contents) : contents;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw dataError(
        role,
        `decompresses to more than ${formatBytes(maxBytes)} (it is ${formatBytes(raw.length)} compressed), more than Distill reads from one gzip file. ` +
          `If the data really is that large, decompress it (gunzip) and point ${role.field} at the uncompressed file, whose size can be checked before reading; otherwise the file is damaged.`,
      );
    }
    throw dataError(
      role,
      `is gzip-compressed (starts with 1f 8b) but does not decompress: ${(e as Error).message}. The file is probably ` +
        `incomplete or damaged; download it again.`,
    );
  }
}

export const baseName = (file: string) => path.basename(file);
