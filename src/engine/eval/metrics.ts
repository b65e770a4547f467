/**
 * Evaluation metrics on logits that have been read back from the backend: row-major Float32Array [N, C] logits
 * and Int32Array labels. Pure TypeScript, so the same figures come out whatever backend produced the logits.
 */
import { DistillError } from '../../shared/errors';
import { assertRowMajor, klDivergence, logSoftmaxInto } from '../../shared/math';
import type { PerClassMetrics } from '../../shared/records';

export interface ClassificationMetrics {
  accuracy: number;
  /** Unweighted mean of the per-class F1 over all `numClasses` classes. */
  macroF1: number;
  perClass: PerClassMetrics;
  /** confusion[trueClass][predictedClass] = count. */
  confusion: number[][];
}

/** Index of the largest logit in each row; ties go to the lowest index. */
export function argmaxRows(logits: Float32Array, numClasses: number): Int32Array {
  assertRowMajor(logits.length, numClasses);
  const rows = logits.length / numClasses;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * numClasses;
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (logits[base + c] > logits[base + best]) best = c;
    out[r] = best;
  }
  return out;
}

/**
 * Accuracy, confusion matrix, per-class precision/recall/F1 and macro-F1.
 *
 * Zero division follows scikit-learn's `zero_division=0`: precision is 0 for a class never predicted, recall is 0
 * for a class that never occurs, and F1 is 0 when precision + recall is 0. So a class with no true and no predicted
 * samples scores F1 = 0 and still counts in the macro mean (as with sklearn's `labels=range(C)`), which keeps
 * macro-F1 comparable between runs on the same class list.
 */
export function classificationMetrics(logits: Float32Array, labels: Int32Array, numClasses: number): ClassificationMetrics {
  const rows = checkAligned(logits, labels, numClasses);
  const predictions = argmaxRows(logits, numClasses);
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    confusion[labels[r]][predictions[r]]++;
    if (labels[r] === predictions[r]) correct++;
  }

  const precision: number[] = [];
  const recall: number[] = [];
  const f1: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const truePositives = confusion[c][c];
    let predictedAsC = 0;
    for (let t = 0; t < numClasses; t++) predictedAsC += confusion[t][c];
    const actuallyC = confusion[c].reduce((a, b) => a + b, 0);
    const p = predictedAsC === 0 ? 0 : truePositives / predictedAsC;
    const rc = actuallyC === 0 ? 0 : truePositives / actuallyC;
    precision.push(p);
    recall.push(rc);
    f1.push(p + rc === 0 ? 0 : (2 * p * rc) / (p + rc));
  }

  return {
    accuracy: correct / rows,
    macroF1: f1.reduce((a, b) => a + b, 0) / numClasses,
    perClass: { precision, recall, f1 },
    confusion,
  };
}

/** Batch-mean KL(p_t ‖ p_s) in nats, both softened at `temperature`. 0 when the logits agree. */
export function klToTeacher(teacherLogits: Float32Array, studentLogits: Float32Array, numClasses: number, temperature = 1): number {
  const rows = checkSameShape(teacherLogits, studentLogits, numClasses);
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new RangeError(`klToTeacher: temperature must be a finite number > 0, got ${temperature}`);
  }
  const logP = new Float64Array(numClasses);
  const logQ = new Float64Array(numClasses);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    logSoftmaxInto(teacherLogits, r * numClasses, numClasses, temperature, logP);
    logSoftmaxInto(studentLogits, r * numClasses, numClasses, temperature, logQ);
    total += klDivergence(logP, logQ);
  }
  return total / rows;
}

/** Fraction of rows where teacher and student predict the same class (top-1). */
export function agreement(teacherLogits: Float32Array, studentLogits: Float32Array, numClasses: number): number {
  const rows = checkSameShape(teacherLogits, studentLogits, numClasses);
  const teacherTop = argmaxRows(teacherLogits, numClasses);
  const studentTop = argmaxRows(studentLogits, numClasses);
  let same = 0;
  for (let r = 0; r < rows; r++) if (teacherTop[r] === studentTop[r]) same++;
  return same / rows;
}

/**
 * Expected calibration error (Guo et al. 2017): rows are binned by confidence (the top softmax probability at T = 1)
 * into `bins` equal-width bins over [0, 1], bin b holding confidences in (b/bins, (b+1)/bins]; ECE is
 * Σ_b (n_b / N)·|accuracy_b − mean confidence_b|.
 */
export function expectedCalibrationError(logits: Float32Array, labels: Int32Array, numClasses: number, bins = 15): number {
  const rows = checkAligned(logits, labels, numClasses);
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`expectedCalibrationError: bins must be an integer ≥ 1, got ${bins}`);
  const predictions = argmaxRows(logits, numClasses);
  const count = new Float64Array(bins);
  const correctInBin = new Float64Array(bins);
  const confidenceSum = new Float64Array(bins);
  const logProbs = new Float64Array(numClasses);
  for (let r = 0; r < rows; r++) {
    logSoftmaxInto(logits, r * numClasses, numClasses, 1, logProbs);
    const confidence = Math.exp(logProbs[predictions[r]]);
    const bin = Math.min(bins - 1, Math.max(0, Math.ceil(confidence * bins) - 1));
    count[bin]++;
    confidenceSum[bin] += confidence;
    if (predictions[r] === labels[r]) correctInBin[bin]++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b] > 0) ece += (count[b] / rows) * Math.abs(correctInBin[b] / count[b] - confidenceSum[b] / count[b]);
  }
  return ece;
}

function checkAligned(logits: Float32Array, labels: Int32Array, numClasses: number): number {
  assertRowMajor(logits.length, numClasses);
  const rows = logits.length / numClasses;
  if (labels.length !== rows) {
    throw new RangeError(`metrics: ${rows} logit rows of ${numClasses} classes but ${labels.length} labels`);
  }
  if (rows === 0) {
    throw new DistillError('data', 'There are no samples to evaluate. Give the split at least one row (check data.maxSamples and data.validationSplit).');
  }
  for (let r = 0; r < rows; r++) {
    if (!(labels[r] >= 0 && labels[r] < numClasses)) {
      throw new DistillError(
        'data',
        `Label ${labels[r]} at row ${r} is outside the ${numClasses} classes 0..${numClasses - 1}. ` +
          'Labels must be 0-based class indices; check the label file or column, or data.classNames.',
      );
    }
  }
  return rows;
}

function checkSameShape(teacherLogits: Float32Array, studentLogits: Float32Array, numClasses: number): number {
  assertRowMajor(teacherLogits.length, numClasses);
  if (teacherLogits.length !== studentLogits.length) {
    throw new RangeError(`teacher logits have ${teacherLogits.length} values but student logits ${studentLogits.length}`);
  }
  const rows = teacherLogits.length / numClasses;
  if (rows === 0) {
    throw new DistillError('data', 'There are no samples to compare teacher and student on. Give the split at least one row.');
  }
  return rows;
}
