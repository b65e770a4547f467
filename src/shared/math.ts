/**
 * Softmax, entropy and KL on plain number arrays. No tfjs: the webview uses these to re-soften cached teacher
 * logits at any temperature, and the engine's metrics use them on logits it has already read back.
 *
 * Everything goes through log-probabilities (max-shifted log-sum-exp), so finite logits of any size (±1e4) and
 * temperatures from 0.5 to 50 give finite results, and no path takes log(0).
 */

export type NumericArray = ArrayLike<number>;

function assertTemperature(temperature: number): void {
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new RangeError(`temperature must be a finite number > 0, got ${temperature}`);
  }
}

/** log softmax(logits / T), in float64. */
export function logSoftmaxRow(logits: NumericArray, temperature = 1): Float64Array {
  assertTemperature(temperature);
  return logSoftmaxInto(logits, 0, logits.length, temperature, new Float64Array(logits.length));
}

/** softmax(logits / T), in float64. */
export function softmaxRow(logits: NumericArray, temperature = 1): Float64Array {
  const out = logSoftmaxRow(logits, temperature);
  for (let i = 0; i < out.length; i++) out[i] = Math.exp(out[i]);
  return out;
}

/** Row-wise softmax(logits / T) of a row-major [N, classes] matrix; returns the same layout. */
export function softmaxRows(flat: Float32Array | number[], classes: number, temperature = 1): Float32Array {
  assertTemperature(temperature);
  assertRowMajor(flat.length, classes);
  const out = new Float32Array(flat.length);
  const row = new Float64Array(classes);
  for (let start = 0; start < flat.length; start += classes) {
    logSoftmaxInto(flat, start, classes, temperature, row);
    for (let c = 0; c < classes; c++) out[start + c] = Math.exp(row[c]);
  }
  return out;
}

/**
 * Writes log softmax(logits[start .. start+length) / T) into `out[0 .. length)`. Exposed for callers that walk
 * many rows and want to reuse one buffer; `temperature` is not re-checked here.
 */
export function logSoftmaxInto(logits: NumericArray, start: number, length: number, temperature: number, out: Float64Array): Float64Array {
  const invT = 1 / temperature;
  let max = -Infinity;
  for (let c = 0; c < length; c++) max = Math.max(max, logits[start + c] * invT);
  // After shifting by the max, the largest term is exp(0) = 1, so the sum is ≥ 1 and its log is finite.
  let sumExp = 0;
  for (let c = 0; c < length; c++) sumExp += Math.exp(logits[start + c] * invT - max);
  const logNormalizer = max + Math.log(sumExp);
  for (let c = 0; c < length; c++) out[c] = logits[start + c] * invT - logNormalizer;
  return out;
}

/** Shannon entropy in nats, −Σ p·log p, with 0·log 0 = 0. */
export function entropy(p: NumericArray): number {
  let h = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] > 0) h -= p[i] * Math.log(p[i]);
  }
  return h;
}

/**
 * KL(P ‖ Q) = Σ p·(log p − log q) in nats, from log-probabilities (as `logSoftmaxRow` returns), which keeps it
 * exact where q underflows to 0 in probability space. Classes where p is 0 contribute nothing, even if q is 0 too.
 */
export function klDivergence(logP: NumericArray, logQ: NumericArray): number {
  if (logP.length !== logQ.length) {
    throw new RangeError(`klDivergence: distributions differ in length (${logP.length} vs ${logQ.length})`);
  }
  let kl = 0;
  for (let i = 0; i < logP.length; i++) {
    const p = Math.exp(logP[i]);
    if (p > 0) kl += p * (logP[i] - logQ[i]);
  }
  // Rounding can leave a tiny negative value for identical distributions; KL is never below 0.
  return Math.max(0, kl);
}

export function assertRowMajor(length: number, classes: number): void {
  if (!Number.isInteger(classes) || classes < 1 || length % classes !== 0) {
    throw new RangeError(`expected a row-major [N, ${classes}] matrix, but it has ${length} values`);
  }
}
