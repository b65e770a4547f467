/**
 * NumPy `.npy` files (format versions 1, 2 and 3): the magic `\x93NUMPY`, a version, a header length, then a Python
 * dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (N, 28, 28), }` padded with spaces, then the raw
 * values. See numpy/lib/format.py. Only little-endian (or single-byte) numeric dtypes in C order are read.
 */
import { isNpyProblem, NPY_MAGIC, readNpyHeader, type NpyHeaderProblem } from '../../shared/npyHeader';
import { dataError, type FileRole } from './sourceFile';

export { isNpy } from '../../shared/npyHeader';

export type NpyData =
  Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export type NpyKind = 'float' | 'int' | 'uint' | 'bool';

interface DtypeInfo {
  kind: NpyKind;
  bytes: number;
  view: (buffer: ArrayBufferLike, byteOffset: number, length: number) => NpyData;
}

/** Keyed by numpy's type code without the byte-order character, e.g. `f4`. */
const DTYPES: Record<string, DtypeInfo> = {
  f4: { kind: 'float', bytes: 4, view: (b, o, n) => new Float32Array(b, o, n) },
  f8: { kind: 'float', bytes: 8, view: (b, o, n) => new Float64Array(b, o, n) },
  i1: { kind: 'int', bytes: 1, view: (b, o, n) => new Int8Array(b, o, n) },
  i2: { kind: 'int', bytes: 2, view: (b, o, n) => new Int16Array(b, o, n) },
  i4: { kind: 'int', bytes: 4, view: (b, o, n) => new Int32Array(b, o, n) },
  i8: { kind: 'int', bytes: 8, view: (b, o, n) => new BigInt64Array(b, o, n) },
  u1: { kind: 'uint', bytes: 1, view: (b, o, n) => new Uint8Array(b, o, n) },
  u2: { kind: 'uint', bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  u4: { kind: 'uint', bytes: 4, view: (b, o, n) => new Uint32Array(b, o, n) },
  u8: { kind: 'uint', bytes: 8, view: (b, o, n) => new BigUint64Array(b, o, n) },
  b1: { kind: 'bool', bytes: 1, view: (b, o, n) => new Uint8Array(b, o, n) },
};

export interface NpyArray {
  /** As written in the file, e.g. `<f4`. */
  dtype: string;
  kind: NpyKind;
  shape: number[];
  data: NpyData;
}

const SUPPORTED = "'<f4', '<f8', '|u1', '|i1', '<i2', '<u2', '<i4', '<u4', '<i8', '<u8'";

export function parseNpy(bytes: Buffer, role: FileRole): NpyArray {
  const head = readNpyHeader(bytes);
  if (isNpyProblem(head)) throw dataError(role, npyProblemText(head, role));
  const { descr, shape, dataOffset } = head;
  if (head.fortranOrder)
    throw dataError(role, 'is stored in Fortran (column-major) order; only C order is read. Save it with numpy.save(file, numpy.ascontiguousarray(array)).');

  const order = descr[0];
  const info = DTYPES[descr.slice(1)];
  if (!info || !'<>|='.includes(order))
    throw dataError(
      role,
      `has dtype '${descr}', which is not supported; expected a numeric dtype such as ${SUPPORTED}. Convert it with array.astype(numpy.float32) (features) or array.astype(numpy.int64) (labels).`,
    );
  if (order === '>' && info.bytes > 1)
    throw dataError(role, `has big-endian dtype '${descr}'; only little-endian is read. Convert it with array.astype('<${descr.slice(1)}').`);

  const length = shape.reduce((a, b) => a * b, 1);
  const expectedBytes = length * info.bytes;
  const actualBytes = bytes.length - dataOffset;
  if (actualBytes !== expectedBytes) {
    throw dataError(
      role,
      `${actualBytes < expectedBytes ? 'is truncated' : 'has trailing bytes'}: shape (${shape.join(', ')}) of '${descr}' needs ${expectedBytes} bytes of data, but the file has ${actualBytes}. Save it again with numpy.save().`,
    );
  }
  // Typed arrays need their offset aligned to the element size; numpy pads headers to 64 bytes, but a Buffer may
  // start anywhere inside its ArrayBuffer, so copy when it does not line up.
  const start = bytes.byteOffset + dataOffset;
  const data = start % info.bytes === 0 ? info.view(bytes.buffer, start, length) : info.view(new Uint8Array(bytes.subarray(dataOffset)).buffer, 0, length);
  return { dtype: descr, kind: info.kind, shape, data };
}

/** What to tell the user about a header that cannot be read, and the fix. */
function npyProblemText(p: NpyHeaderProblem, role: FileRole): string {
  switch (p.problem) {
    case 'not-npy':
      return `is not a .npy file (it does not start with "\\x93NUMPY"). Save arrays with numpy.save(), or fix ${role.field}.`;
    case 'version':
      return `has .npy format version ${p.version}; versions 1.0, 2.0 and 3.0 are supported. Save it again with numpy.save().`;
    case 'truncated':
      return 'is truncated inside its .npy header. Save it again with numpy.save().';
    case 'no-descr':
      return `has a structured or unreadable dtype in its .npy header (${p.header.trim()}); expected one plain numeric dtype such as ${SUPPORTED}.`;
    case 'unreadable':
      return `has an unreadable .npy header: ${p.header.trim()}. Save it again with numpy.save().`;
    case 'bad-shape':
      return `has an unreadable shape (${p.shapeText}) in its .npy header. Save it again with numpy.save().`;
  }
}

export type EncodableArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array;

/** Encode a C-order array as .npy version 1.0, e.g. for the teacher-logit cache. */
export function encodeNpy(data: EncodableArray, shape: number[]): Buffer {
  const descr =
    data instanceof Float32Array
      ? '<f4'
      : data instanceof Float64Array
        ? '<f8'
        : data instanceof Int8Array
          ? '|i1'
          : data instanceof Uint8Array
            ? '|u1'
            : data instanceof Int16Array
              ? '<i2'
              : data instanceof Uint16Array
                ? '<u2'
                : data instanceof Int32Array
                  ? '<i4'
                  : data instanceof Uint32Array
                    ? '<u4'
                    : '<i8';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // numpy pads magic + version + length + header + newline to a multiple of 64 bytes.
  const unpadded = NPY_MAGIC.length + 2 + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write(NPY_MAGIC, 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
