/**
 * The header of a NumPy `.npy` file (format versions 1, 2 and 3): the magic `\x93NUMPY`, a version, a header
 * length, then a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (N, 10), }`. See
 * numpy/lib/format.py. The one reader of it: the engine's data loader and the extension's model catalog both use it,
 * each phrasing the problem for where the file came from. Pure, on bytes; no Node, no DOM.
 */

export const NPY_MAGIC = '\x93NUMPY';

export interface NpyHeader {
  /** The dtype as written, e.g. `<f4`. */
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Where the values start. */
  dataOffset: number;
}

/** Why a header cannot be read; `header` is its text when it got that far. */
export type NpyHeaderProblem =
  | { problem: 'not-npy' }
  | { problem: 'version'; version: string }
  | { problem: 'truncated' }
  | { problem: 'no-descr'; header: string }
  | { problem: 'unreadable'; header: string }
  | { problem: 'bad-shape'; header: string; shapeText: string };

export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && String.fromCharCode(...bytes.subarray(0, 6)) === NPY_MAGIC;
}

/** The header from the file's first bytes (4 KiB hold any header numpy writes for a plain array). */
export function readNpyHeader(bytes: Uint8Array): NpyHeader | NpyHeaderProblem {
  if (!isNpy(bytes)) return { problem: 'not-npy' };
  const major = bytes[6];
  // numpy itself reads only 1.0, 2.0 and 3.0 (numpy/lib/format.py, _check_version).
  if (major < 1 || major > 3 || bytes[7] !== 0) return { problem: 'version', version: `${major}.${bytes[7]}` };
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) return { problem: 'truncated' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = 8 + lengthBytes + headerLength;
  if (bytes.length < dataOffset) return { problem: 'truncated' };
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lengthBytes, dataOffset));

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined) return { problem: 'no-descr', header };
  if (fortran === undefined || shapeText === undefined) return { problem: 'unreadable', header };
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) return { problem: 'bad-shape', header, shapeText };
  return { descr, fortranOrder: fortran === 'True', shape, dataOffset };
}

export const isNpyProblem = (h: NpyHeader | NpyHeaderProblem): h is NpyHeaderProblem => 'problem' in h;
