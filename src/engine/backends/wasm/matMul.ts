/**
 * Matrix products on wasm. The stock BatchMatMul kernel uses XNNPACK only for a plain A·B with batch 1; every other
 * case (Aᵀ·B and A·Bᵀ, which is what the gradients of every dense layer ask for) falls back to a scalar triple loop
 * that is many times slower. We keep the stock kernel for the fast case and transpose explicitly otherwise: a
 * transpose is O(n²) memory traffic against the O(n³) product it unlocks.
 */
import { BatchMatMul, type BatchMatMulAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { release, reshapeView, runWasmKernel, type BackendWasm } from './wasmKernelUtil';

/** `a [rows, inner] · b [inner, cols]` through XNNPACK; returns [rows, cols]. `b` is packed as the "weights". */
export function matMul(backend: BackendWasm, a: TensorInfo, b: TensorInfo, rows: number, inner: number, cols: number): TensorInfo {
  const a3 = reshapeView(backend, a, [1, rows, inner]);
  const b3 = reshapeView(backend, b, [1, inner, cols]);
  const out = runWasmKernel(BatchMatMul, backend, { a: a3, b: b3 }, { transposeA: false, transposeB: false });
  release(backend, a3);
  release(backend, b3);
  return { ...out, shape: [rows, cols] };
}

/** A [rows, cols] matrix transposed by the wasm Transpose kernel. */
export function transpose2d(backend: BackendWasm, m: TensorInfo, rows: number, cols: number): TensorInfo {
  const view = reshapeView(backend, m, [rows, cols]);
  const out = runWasmKernel('Transpose', backend, { x: view }, { perm: [1, 0] });
  release(backend, view);
  return out;
}

function batchMatMulKernel({ inputs, backend, attrs }: Parameters<KernelFunc>[0]): TensorInfo {
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as BatchMatMulAttrs;
  const wasm = backend as BackendWasm;
  const aBatch = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const bBatch = b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  // Batched products and non-float inputs keep the stock behaviour (and its error messages).
  if ((!transposeA && !transposeB) || aBatch !== 1 || bBatch !== 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
    return runWasmKernel(BatchMatMul, wasm, { a, b }, { transposeA, transposeB });
  }
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  // Keep the caller's leading batch dims (all 1 here), as broadcasting would.
  const outer = (a.shape.length >= b.shape.length ? a.shape : b.shape).slice(0, -2);
  if (transposeB && !transposeA && aRows < bRows && aCols === bCols) return productWithTransposedB(wasm, a, b, aRows, aCols, bRows, outer);
  const left = transposeA ? transpose2d(wasm, a, aRows, aCols) : reshapeView(wasm, a, [aRows, aCols]);
  const right = transposeB ? transpose2d(wasm, b, bRows, bCols) : reshapeView(wasm, b, [bRows, bCols]);
  const rows = transposeA ? aCols : aRows;
  const inner = transposeA ? aRows : aCols;
  const cols = transposeB ? bRows : bCols;
  const innerB = transposeB ? bCols : bRows;
  if (inner !== innerB) {
    release(wasm, left);
    release(wasm, right);
    throw new Error(
      `Error in matMul: inner shapes (${inner}) and (${innerB}) of Tensors with shapes ${a.shape} and ${b.shape} ` +
        `and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const out = matMul(wasm, left, right, rows, inner, cols);
  release(wasm, left);
  release(wasm, right);
  return { ...out, shape: [...outer, rows, cols] };
}

/**
 * A·Bᵀ for `a` [rows, inner] and `b` [cols, inner] with fewer rows than cols (a layer's input gradient, dY·Wᵀ), as
 * (B·Aᵀ)ᵀ. XNNPACK packs its right operand anew whenever its values change, and a layer's weights change every step:
 * this packs Aᵀ [inner, rows] instead of Wᵀ [inner, cols]. For cnn-small's 1568×128 dense kernel with new weights:
 * 3.0 → 0.95 ms at 16 rows, 6.0 → 5.7 ms at 128.
 */
function productWithTransposedB(wasm: BackendWasm, a: TensorInfo, b: TensorInfo, rows: number, inner: number, cols: number, outer: number[]): TensorInfo {
  const aT = transpose2d(wasm, a, rows, inner);
  const bView = reshapeView(wasm, b, [cols, inner]);
  const outT = matMul(wasm, bView, aT, cols, inner, rows);
  release(wasm, aT);
  release(wasm, bView);
  const out = transpose2d(wasm, outT, cols, rows);
  release(wasm, outT);
  return { ...out, shape: [...outer, rows, cols] };
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMulKernel,
};
