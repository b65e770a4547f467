/**
 * Patch extraction (im2col) and its adjoint (col2im) for NHWC convolutions, so that convolution gradients become
 * one large matrix product, which XNNPACK runs with SIMD; these loops only move data.
 */
import type { Conv2DInfo } from './wasmKernelUtil';

/** First and one-past-last output column whose input column `o * stride + offset` lies inside `[0, size)`. */
export function validOutputRange(offset: number, stride: number, size: number, outSize: number): [number, number] {
  const lo = Math.max(0, Math.ceil(-offset / stride));
  const hi = Math.min(outSize, Math.floor((size - 1 - offset) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * Writes the transposed patch matrix Pᵀ of the images [first, first + count), shape [KH·KW·C, count·OH·OW], from
 * x in planar layout [N, C, H, W]: row (kh·KW + kw)·C + c holds, for every output position, the input value under
 * filter tap (kh, kw) in channel c (0 in the padding). Rows are ordered like the flattened filter [KH, KW, C, ·],
 * so Pᵀ · dY is the filter gradient as it is laid out in memory. The planar input makes every copied run
 * contiguous in both arrays.
 *
 * Both arrays must be views of one buffer (the wasm heap): with stride 1 and OW = W (e.g. 'same' padding) a whole
 * image's worth of one row of Pᵀ is a single shifted copy, done by `copyWithin` (a memmove) on that buffer;
 * the values that wrap around a row edge are then overwritten with the padding zeros.
 */
export function im2colTransposedFromPlanar(planar: Float32Array, info: Conv2DInfo, out: Float32Array, first = 0, count = info.batchSize): void {
  if (planar.buffer !== out.buffer) throw new Error('im2colTransposedFromPlanar needs both arrays in one buffer (the wasm heap).');
  const heap = new Float32Array(out.buffer);
  const planarBase = planar.byteOffset >> 2;
  const outBase = out.byteOffset >> 2;
  const { inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const plane = inHeight * inWidth;
  const outPlane = outHeight * outWidth;
  const rowLength = count * outPlane;
  const shiftedCopy = strideHeight === 1 && strideWidth === 1 && outWidth === inWidth;
  for (let kh = 0; kh < filterHeight; kh++) {
    const rowOffset = kh * dilationHeight - padTop;
    const [ohLo, ohHi] = validOutputRange(rowOffset, strideHeight, inHeight, outHeight);
    for (let kw = 0; kw < filterWidth; kw++) {
      const colOffset = kw * dilationWidth - padLeft;
      const [owLo, owHi] = validOutputRange(colOffset, strideWidth, inWidth, outWidth);
      for (let c = 0; c < inChannels; c++) {
        const row = ((kh * filterWidth + kw) * inChannels + c) * rowLength;
        for (let b = 0; b < count; b++) {
          const segment = row + b * outPlane;
          const source = ((first + b) * inChannels + c) * plane;
          // Zeros are written by plain loops: TypedArray.fill costs a builtin call, too much for runs of 1–2.
          for (let i = segment, end = segment + ohLo * outWidth; i < end; i++) out[i] = 0;
          for (let i = segment + ohHi * outWidth, end = segment + outPlane; i < end; i++) out[i] = 0;
          if (ohHi <= ohLo || owHi <= owLo) {
            for (let i = segment + ohLo * outWidth, end = segment + ohHi * outWidth; i < end; i++) out[i] = 0;
            continue;
          }
          if (shiftedCopy) {
            const first = ohLo * outWidth + owLo;
            const last = (ohHi - 1) * outWidth + owHi;
            const from = planarBase + source + rowOffset * inWidth + colOffset;
            heap.copyWithin(outBase + segment + first, from + first, from + last);
          }
          for (let oh = ohLo; oh < ohHi; oh++) {
            const dst = segment + oh * outWidth;
            for (let ow = 0; ow < owLo; ow++) out[dst + ow] = 0;
            for (let ow = owHi; ow < outWidth; ow++) out[dst + ow] = 0;
            if (shiftedCopy) continue;
            let src = source + (oh * strideHeight + rowOffset) * inWidth + owLo * strideWidth + colOffset;
            for (let ow = owLo; ow < owHi; ow++, src += strideWidth) out[dst + ow] = planar[src];
          }
        }
      }
    }
  }
}

/**
 * The adjoint of im2col for the untransposed patch matrix P, shape [N·OH·OW, KH·KW·C]: adds every patch entry back
 * into the input position it came from, giving the input gradient from dP = dY · Wᵀ. `dx` must be zeroed first.
 */
export function col2imAccumulate(patches: Float32Array, info: Conv2DInfo, dx: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const patchSize = filterHeight * filterWidth * inChannels;
  const imageSize = inHeight * inWidth * inChannels;
  let row = 0;
  for (let b = 0; b < batchSize; b++) {
    const image = b * imageSize;
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++, row += patchSize) {
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight + kh * dilationHeight - padTop;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth + kw * dilationWidth - padLeft;
            if (iw < 0 || iw >= inWidth) continue;
            const src = row + (kh * filterWidth + kw) * inChannels;
            const dst = image + (ih * inWidth + iw) * inChannels;
            for (let c = 0; c < inChannels; c++) dx[dst + c] += patches[src + c];
          }
        }
      }
    }
  }
}
