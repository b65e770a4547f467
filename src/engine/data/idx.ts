/**
 * IDX files, the MNIST / Fashion-MNIST layout: a big-endian header (two zero bytes, a type code, the number of
 * dimensions, then one uint32 per dimension) followed by the values. We read unsigned-byte images
 * `[N, rows, cols]` or `[N, rows, cols, channels]` and unsigned-byte labels `[N]`.
 */
import * as fs from 'node:fs';
import { constants, gunzipSync } from 'node:zlib';
import { dataError, isGzip, type FileRole } from './sourceFile';

const UNSIGNED_BYTE = 0x08;
const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

interface IdxHeader {
  dims: number[];
  bodyOffset: number;
}

function describeMagic(magic: number): string {
  if (magic === LABELS_MAGIC) return 'an IDX labels file';
  if (magic === IMAGES_MAGIC || magic === 0x00000804) return 'an IDX images file';
  const typeCode = (magic >>> 8) & 0xff;
  if (magic >>> 16 === 0 && typeCode !== 0) return `an IDX file of type 0x${typeCode.toString(16)} with ${magic & 0xff} dimensions`;
  return 'not an IDX file';
}

function readHeader(bytes: Buffer, role: FileRole, what: 'images' | 'labels'): IdxHeader {
  const expected = what === 'images' ? `${hex(IMAGES_MAGIC)} (unsigned-byte images [N, rows, cols])` : `${hex(LABELS_MAGIC)} (unsigned-byte labels [N])`;
  if (bytes.length < 4)
    throw dataError(role, `is ${bytes.length} bytes long, too short for an IDX header; expected magic number ${expected}. Check ${role.field}.`);
  const magic = bytes.readUInt32BE(0);
  const ndims = bytes[3];
  const wantedDims = what === 'images' ? [3, 4] : [1];
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== UNSIGNED_BYTE || !wantedDims.includes(ndims)) {
    const swapped =
      what === 'images' && magic === LABELS_MAGIC
        ? ' Are the images and labels files swapped?'
        : what === 'labels' && (magic === IMAGES_MAGIC || magic === 0x00000804)
          ? ' Are the images and labels files swapped?'
          : '';
    throw dataError(role, `bad magic number ${hex(magic)} (${describeMagic(magic)}); expected ${expected}.${swapped} Check ${role.field}.`);
  }
  const bodyOffset = 4 + 4 * ndims;
  if (bytes.length < bodyOffset) throw dataError(role, `is truncated inside its header (${bytes.length} of ${bodyOffset} bytes). Download the file again.`);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(bytes.readUInt32BE(4 + 4 * d));
  const expectedBody = dims.reduce((a, b) => a * b, 1);
  const actualBody = bytes.length - bodyOffset;
  if (actualBody !== expectedBody) {
    const shape = dims.join(' × ');
    const problem = actualBody < expectedBody ? 'is truncated' : 'has trailing bytes';
    throw dataError(
      role,
      `${problem}: its header says ${shape} = ${expectedBody} bytes of ${what}, but the file has ${actualBody} bytes after the header. Download the file again.`,
    );
  }
  return { dims, bodyOffset };
}

export interface IdxImages {
  /** Pixel bytes of all rows, row-major, a view into the file buffer. */
  pixels: Uint8Array;
  count: number;
  /** `[rows, cols, channels]` */
  sampleShape: number[];
}

export function parseIdxImages(bytes: Buffer, role: FileRole): IdxImages {
  const { dims, bodyOffset } = readHeader(bytes, role, 'images');
  const [count, rows, cols, channels = 1] = dims;
  return { pixels: bytes.subarray(bodyOffset), count, sampleShape: [rows, cols, channels] };
}

export function parseIdxLabels(bytes: Buffer, role: FileRole): Uint8Array {
  const { bodyOffset } = readHeader(bytes, role, 'labels');
  return bytes.subarray(bodyOffset);
}

/**
 * One image's shape `[rows, cols, channels]` from the header of an IDX images file (raw or gzip), without reading
 * the rest; undefined for anything that is not a readable IDX images file (loading it later says what is wrong).
 */
export function peekIdxSampleShape(file: string): number[] | undefined {
  try {
    const head = Buffer.alloc(4096);
    const fd = fs.openSync(file, 'r');
    let bytes: Buffer;
    try {
      bytes = head.subarray(0, fs.readSync(fd, head, 0, head.length, 0));
    } finally {
      fs.closeSync(fd);
    }
    // A sync flush lets zlib hand back what the first block holds instead of failing on the truncated stream.
    if (isGzip(bytes)) bytes = gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH });
    const ndims = bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && bytes[2] === UNSIGNED_BYTE ? bytes[3] : 0;
    if ((ndims !== 3 && ndims !== 4) || bytes.length < 4 + 4 * ndims) return undefined;
    const dims = Array.from({ length: ndims }, (_, d) => bytes.readUInt32BE(4 + 4 * d));
    const [, rows, cols, channels = 1] = dims;
    return [rows, cols, channels];
  } catch {
    return undefined;
  }
}
