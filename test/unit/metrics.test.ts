import { strict as assert } from 'node:assert';
import { agreement, argmaxRows, classificationMetrics, expectedCalibrationError, klToTeacher } from '../../src/engine/eval/metrics';
import { DistillError } from '../../src/shared/errors';

/** Logits whose argmax is `predicted`, with a per-row offset so rows are not all identical. */
function logitsPredicting(predicted: number[], numClasses: number): Float32Array {
  const out = new Float32Array(predicted.length * numClasses);
  predicted.forEach((p, r) => {
    for (let c = 0; c < numClasses; c++) out[r * numClasses + c] = 0.1 * r - c * 0.01;
    out[r * numClasses + p] += 3;
  });
  return out;
}

function assertClose(actual: number, expected: number, what: string, tolerance = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual}, expected ${expected}`);
}

function assertAllClose(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  expected.forEach((e, i) => assertClose(actual[i], e, `${what}[${i}]`));
}

describe('eval/metrics', () => {
  // Hand-worked 3-class example, 9 samples:
  //   true 0 → predicted 0, 0, 1, 2      true 1 → predicted 1, 2      true 2 → predicted 2, 2, 0
  // confusion [true][pred] = [[2,1,1],[0,1,1],[1,0,2]], accuracy 5/9
  // precision = 2/3, 1/2, 2/4     recall = 2/4, 1/2, 2/3     F1 = 4/7, 1/2, 4/7     macro-F1 = 23/42
  const labels = new Int32Array([0, 0, 0, 0, 1, 1, 2, 2, 2]);
  const predicted = [0, 0, 1, 2, 1, 2, 2, 2, 0];

  describe('classificationMetrics', () => {
    it('matches the hand-worked confusion matrix, accuracy, per-class scores and macro-F1', () => {
      const m = classificationMetrics(logitsPredicting(predicted, 3), labels, 3);
      assert.deepEqual(m.confusion, [
        [2, 1, 1],
        [0, 1, 1],
        [1, 0, 2],
      ]);
      assertClose(m.accuracy, 5 / 9, 'accuracy');
      assertAllClose(m.perClass.precision, [2 / 3, 1 / 2, 1 / 2], 'precision');
      assertAllClose(m.perClass.recall, [1 / 2, 1 / 2, 2 / 3], 'recall');
      assertAllClose(m.perClass.f1, [4 / 7, 1 / 2, 4 / 7], 'f1');
      assertClose(m.macroF1, 23 / 42, 'macroF1');
    });

    it('scores a class with no true and no predicted samples 0 and keeps it in the macro mean (zero_division=0)', () => {
      const m = classificationMetrics(logitsPredicting(predicted, 4), labels, 4);
      assert.deepEqual(m.confusion[3], [0, 0, 0, 0]);
      assert.equal(m.perClass.precision[3], 0);
      assert.equal(m.perClass.recall[3], 0);
      assert.equal(m.perClass.f1[3], 0);
      assertClose(m.macroF1, 23 / 56, 'macroF1');
    });

    it('gives precision 0 to a class predicted but never true, and recall 0 to one true but never predicted', () => {
      // true: 0, 0, 1   predicted: 2, 0, 1 → class 2 is predicted once, never true.
      const m = classificationMetrics(logitsPredicting([2, 0, 1], 3), new Int32Array([0, 0, 1]), 3);
      assert.equal(m.perClass.precision[2], 0);
      assert.equal(m.perClass.recall[2], 0);
      assert.equal(m.perClass.f1[2], 0);
      assertAllClose(m.perClass.recall, [1 / 2, 1, 0], 'recall');
      assertAllClose(m.perClass.precision, [1, 1, 0], 'precision');
    });

    it('rejects a label outside the classes, naming the row and value', () => {
      assert.throws(
        () => classificationMetrics(logitsPredicting([0, 1], 3), new Int32Array([0, 3]), 3),
        (e: unknown) => e instanceof DistillError && e.kind === 'data' && /Label 3 at row 1/.test(e.message),
      );
      assert.throws(() => classificationMetrics(new Float32Array(6), new Int32Array(3), 3), /2 logit rows/);
    });
  });

  describe('argmaxRows', () => {
    it('returns each row\u2019s top class, lowest index on ties', () => {
      const logits = new Float32Array([0, 5, 1, 2, 2, 0, -1e4, -1e4, 1e4]);
      assert.deepEqual(Array.from(argmaxRows(logits, 3)), [1, 0, 2]);
    });
  });

  describe('klToTeacher and agreement', () => {
    it('are 0 and 1 for identical logits, at any temperature', () => {
      const logits = logitsPredicting(predicted, 3);
      for (const temperature of [0.5, 1, 4, 50]) assert.equal(klToTeacher(logits, logits, 3, temperature), 0);
      assert.equal(agreement(logits, logits, 3), 1);
    });

    it('match hand-computed values', () => {
      // Row 1: p = (½, ½), q = (¼, ¾): KL = ½ ln 2 + ½ ln(2/3). Row 2: identical, KL 0.
      const teacher = new Float32Array([0, 0, 1, 2]);
      const student = new Float32Array([0, Math.log(3), 1, 2]);
      const rowKl = 0.5 * Math.log(2) + 0.5 * Math.log(2 / 3);
      assertClose(klToTeacher(teacher, student, 2), rowKl / 2, 'kl', 1e-7);
      // At T = 2 the student row is (1, √3)-weighted: q = (1/(1+√3), √3/(1+√3)).
      const q0 = 1 / (1 + Math.sqrt(3));
      const rowKlAtT2 = 0.5 * Math.log(0.5 / q0) + 0.5 * Math.log(0.5 / (1 - q0));
      assertClose(klToTeacher(teacher, student, 2, 2), rowKlAtT2 / 2, 'kl at T=2', 1e-7);
      // Teacher says (0, 1), student (1, 1)→ tie → 0: one of two rows agrees.
      assert.equal(agreement(new Float32Array([0, 1, 5, 0]), new Float32Array([1, 1, 5, 0]), 2), 0.5);
    });

    it('stays finite for logits of ±1e4', () => {
      const teacher = new Float32Array([1e4, -1e4, -1e4, 1e4]);
      const student = new Float32Array([-1e4, 1e4, -1e4, 1e4]);
      const kl = klToTeacher(teacher, student, 2, 0.5);
      assert.ok(Number.isFinite(kl) && kl > 0, String(kl));
    });
  });

  describe('expectedCalibrationError', () => {
    // Two classes, logits (ln(c/(1−c)), 0) give confidence c for class 0.
    const logitsWithConfidence = (confidences: number[]) => new Float32Array(confidences.flatMap((c) => [Math.log(c / (1 - c)), 0]));

    it('matches a constructed example', () => {
      // Four rows at confidence 0.9 with 3 correct (gap 0.15), two at 0.6 both correct (gap 0.4):
      // ECE = 4/6·0.15 + 2/6·0.4 = 7/30.
      const logits = logitsWithConfidence([0.9, 0.9, 0.9, 0.9, 0.6, 0.6]);
      const truth = new Int32Array([0, 0, 0, 1, 0, 0]);
      assertClose(expectedCalibrationError(logits, truth, 2), 7 / 30, 'ECE, 15 bins', 1e-6);
      assertClose(expectedCalibrationError(logits, truth, 2, 10), 7 / 30, 'ECE, 10 bins', 1e-6);
      // One bin: |accuracy 5/6 − mean confidence 0.8|.
      assertClose(expectedCalibrationError(logits, truth, 2, 1), 5 / 6 - 0.8, 'ECE, 1 bin', 1e-6);
    });

    it('is 0 when confidence equals accuracy, and ≈1 for confident wrong answers with huge logits', () => {
      const calibrated = logitsWithConfidence([0.75, 0.75, 0.75, 0.75]);
      assertClose(expectedCalibrationError(calibrated, new Int32Array([0, 0, 0, 1]), 2), 0, 'calibrated', 1e-6);
      const wrong = new Float32Array([1e4, -1e4, 1e4, -1e4]);
      assertClose(expectedCalibrationError(wrong, new Int32Array([1, 1]), 2), 1, 'confidently wrong', 1e-12);
    });
  });
});
