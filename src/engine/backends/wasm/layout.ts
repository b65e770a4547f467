/**
 * Axis permutations that the convolution gradients need, written as plain loops: the stock wasm Transpose kernel
 * is a generic strided loop, slower than the XNNPACK products these permutations feed.
 */

/** [A, B, C] → [A, C, B] for every leading index: NHWC → NCHW with B = H·W. */
export function reverseInnerAxes(src: Float32Array, a: number, b: number, c: number, dst: Float32Array): void {
  const block = b * c;
  for (let i = 0; i < a; i++) {
    const base = i * block;
    for (let k = 0; k < c; k++) {
      const to = base + k * b;
      for (let j = 0, from = base + k; j < b; j++, from += c) dst[to + j] = src[from];
    }
  }
}
