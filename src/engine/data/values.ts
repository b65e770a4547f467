/** Conversions from what files hold to what the engine uses, with the checks that go with them. */
import type { NpyData } from './npy';
import { dataError, type FileRole } from './sourceFile';

/** Index of the first NaN or ±Infinity in `x`, or -1. */
export function findNonFinite(x: Float32Array | Float64Array): number {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    // v - v is 0 for every finite v and NaN for NaN and ±Infinity.
    if (v - v !== 0) return i;
  }
  return -1;
}

/** Elements `[start, end)` of `data` as float32. Typed-array `set` converts natively; 64-bit integers need a loop. */
export function toFloat32(data: NpyData, start: number, end: number): Float32Array {
  const out = new Float32Array(end - start);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = start; i < end; i++) out[i - start] = Number(data[i]);
  } else {
    out.set(data.subarray(start, end));
  }
  return out;
}

/**
 * Class labels as Int32Array: every value must be a non-negative integer. `where(i)` says where row `i` is in the
 * file, e.g. `row 17` or `line 18`.
 */
export function toLabels(values: ArrayLike<number | bigint>, role: FileRole, where: (row: number) => string): Int32Array {
  const labels = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      const problem = !Number.isInteger(v) ? 'is not an integer' : v < 0 ? 'is negative' : 'is too large';
      throw dataError(role, `${where(i)}: label ${v} ${problem}. Labels must be integer class indices 0, 1, 2, …`);
    }
    labels[i] = v;
  }
  return labels;
}
