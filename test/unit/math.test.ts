import { strict as assert } from 'node:assert';
import { entropy, klDivergence, logSoftmaxRow, softmaxRow, softmaxRows } from '../../src/shared/math';

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('shared/math', () => {
  describe('softmax', () => {
    it('matches known digits for [1, 2, 3]', () => {
      assertClose(softmaxRow([1, 2, 3]), [0.09003057317, 0.24472847105, 0.66524095578], 1e-10);
    });

    it('divides the logits by the temperature', () => {
      // softmax([0.5, 1, 1.5]) = e^{0.5, 1, 1.5} / 8.848674...
      assertClose(softmaxRow([1, 2, 3], 2), [0.18632372, 0.30719589, 0.50648039], 1e-7);
      // T = 50 on [0, 100] and T = 0.5 on [0, 1] are both softmax([0, 2]).
      const expected = [1 / (1 + Math.E ** 2), Math.E ** 2 / (1 + Math.E ** 2)];
      assertClose(softmaxRow([0, 100], 50), expected, 1e-12);
      assertClose(softmaxRow([0, 1], 0.5), expected, 1e-12);
    });

    it('log-softmax is log of softmax, and sums to one in probability', () => {
      const logits = [0.3, -1.2, 2.5, 0];
      const logP = logSoftmaxRow(logits, 3);
      const p = softmaxRow(logits, 3);
      assertClose(Array.from(logP, Math.exp), p, 1e-12);
      assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    });

    it('stays finite for logits of ±1e4 at T = 0.5 and T = 50', () => {
      for (const temperature of [0.5, 1, 50]) {
        const logP = logSoftmaxRow([1e4, -1e4, 0], temperature);
        assert.ok(logP.every(Number.isFinite), `T=${temperature}: ${logP}`);
        const p = softmaxRow([1e4, -1e4, 0], temperature);
        assert.ok(p.every(Number.isFinite));
        assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
      }
      assertClose(logSoftmaxRow([1e4, -1e4, 0], 0.5), [0, -4e4, -2e4], 1e-9);
      assertClose(softmaxRow([1e4, -1e4, 0]), [1, 0, 0], 0);
      // At T = 50 the gap of 1e4 becomes 200: still one-hot in float64 but with exact logs.
      assertClose(logSoftmaxRow([1e4, 0], 50), [-Math.log1p(Math.exp(-200)), -200], 1e-12);
    });

    it('softmaxRows softens each row of a flat [N, C] matrix', () => {
      const flat = new Float32Array([1, 2, 3, 1e4, -1e4, 0]);
      const rows = softmaxRows(flat, 3, 2);
      assert.ok(rows instanceof Float32Array);
      assertClose(rows.subarray(0, 3), [0.18632372, 0.30719589, 0.50648039], 1e-7);
      assertClose(rows.subarray(3), [1, 0, 0], 0);
      assertClose(softmaxRows([1, 2, 3], 3), [0.09003057, 0.24472847, 0.66524096], 1e-7);
    });

    it('rejects a bad temperature or a matrix that is not [N, classes]', () => {
      assert.throws(() => softmaxRow([1, 2], 0), /temperature/);
      assert.throws(() => logSoftmaxRow([1, 2], Number.NaN), /temperature/);
      assert.throws(() => softmaxRows([1, 2, 3], 2), /\[N, 2\]/);
    });
  });

  describe('entropy', () => {
    it('is ln C for uniform, 0 for one-hot (0·log 0 = 0), and the hand value otherwise', () => {
      assert.ok(Math.abs(entropy([0.25, 0.25, 0.25, 0.25]) - Math.log(4)) < 1e-12);
      assert.equal(entropy([1, 0, 0]), 0);
      // −(0.5 ln 0.5 + 0.25 ln 0.25 · 2) = 1.5 ln 2
      assert.ok(Math.abs(entropy([0.5, 0.25, 0.25]) - 1.5 * Math.LN2) < 1e-12);
      assert.equal(entropy(softmaxRow([1e4, -1e4, 0])), 0);
    });
  });

  describe('klDivergence', () => {
    it('matches a hand-computed value and is 0 for identical distributions', () => {
      // 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75) = 0.143841036...
      const kl = klDivergence([Math.log(0.5), Math.log(0.5)], [Math.log(0.25), Math.log(0.75)]);
      assert.ok(Math.abs(kl - 0.1438410362258904) < 1e-12, String(kl));
      const logP = logSoftmaxRow([0.2, 1.7, -3]);
      assert.equal(klDivergence(logP, logP), 0);
    });

    it('is asymmetric', () => {
      const logP = logSoftmaxRow([3, 0, 0]);
      const logQ = logSoftmaxRow([0, 0, 0]);
      assert.ok(Math.abs(klDivergence(logP, logQ) - klDivergence(logQ, logP)) > 1e-3);
    });

    it('is finite for huge logits where a probability underflows to 0', () => {
      const logP = logSoftmaxRow([1e4, -1e4, 0], 0.5);
      const logQ = logSoftmaxRow([-1e4, 1e4, 0], 0.5);
      const kl = klDivergence(logP, logQ);
      // p is one-hot on class 0, where log p = 0 and log q = −2e4 − 2e4.
      assert.ok(Math.abs(kl - 4e4) < 1e-6, String(kl));
      assert.ok(Number.isFinite(klDivergence(logSoftmaxRow([1e4, -1e4], 50), logSoftmaxRow([-1e4, 1e4], 50))));
    });

    it('rejects distributions of different lengths', () => {
      assert.throws(() => klDivergence([0], [0, 0]), /length/);
    });
  });
});
