// The report card's noise rules and verdict (src/shared/reportVerdict.ts).
import { strict as assert } from 'node:assert';
import { accuracyDiffers, accuracyNoise, clearlyBest, latencyDiffers, latencySpread, reportVerdict } from '../../src/shared/reportVerdict';
import { report } from '../support/modelReport';

describe('report card: noise and verdict', () => {
  it('latencySpread: median, quartiles (linear between order statistics) and range, in any input order', () => {
    assert.deepEqual(latencySpread([5, 1, 3, 2, 4]), { rounds: 5, min: 1, q1: 2, median: 3, q3: 4, max: 5 });
    // Four values: positions 0.75, 1.5 and 2.25 of [1, 2, 4, 8] → 1.75, 3, 5 (exact in binary floating point).
    assert.deepEqual(latencySpread([8, 2, 1, 4]), { rounds: 4, min: 1, q1: 1.75, median: 3, q3: 5, max: 8 });
    assert.deepEqual(latencySpread([0.5]), { rounds: 1, min: 0.5, q1: 0.5, median: 0.5, q3: 0.5, max: 0.5 });
    assert.throws(() => latencySpread([]), RangeError);
  });

  it('latencies differ only when their ranges do not overlap; a mean without a spread never does', () => {
    const a = latencySpread([0.03, 0.036, 0.041]);
    const b = latencySpread([0.035, 0.139, 0.2]);
    assert.equal(latencyDiffers(a, b), false, 'overlapping ranges are noise');
    const c = latencySpread([0.05, 0.06, 0.07]);
    assert.equal(latencyDiffers(a, c), true);
    assert.equal(latencyDiffers(c, a), true);
    assert.equal(latencyDiffers(a, undefined), false);
  });

  it('accuracy noise: 1.96·√((a(1−a)+b(1−b))/n), so 3 points on 2,000 samples differ and 1 point does not', () => {
    // a = 0.8, b = 0.77, n = 2000: √((0.16 + 0.1771)/2000) = 0.012983…, × 1.96 = 0.02545 < 0.03.
    assert.ok(Math.abs(accuracyNoise(0.8, 0.77, 2000) - 0.025447) < 1e-5);
    assert.equal(accuracyDiffers(0.8, 0.77, 2000), true);
    assert.equal(accuracyDiffers(0.8, 0.79, 2000), false);
    assert.equal(accuracyDiffers(0.8, 0.77, 200), false, 'the same gap on 200 samples is within noise');
    assert.equal(accuracyNoise(0.5, 0.5, 0), Infinity);
  });

  it('clearlyBest marks the best only when it differs from every other; lower-is-better too', () => {
    const v = [0.8, 0.7, 0.79];
    const differs = (a: number, b: number) => Math.abs(a - b) > 0.05;
    assert.equal(
      clearlyBest(v, (x) => x, differs),
      undefined,
      '0.8 and 0.79 are within noise',
    );
    assert.equal(
      clearlyBest([0.8, 0.7, 0.6], (x) => x, differs),
      0,
    );
    assert.equal(
      clearlyBest([0.8, 0.7, 0.6], (x) => x, differs, true),
      2,
    );
    assert.equal(
      clearlyBest<number | undefined>(
        [0.8, undefined],
        (x) => x,
        (a, b) => differs(a!, b!),
      ),
      undefined,
      'one value has nothing to beat',
    );
    assert.equal(
      clearlyBest([0.8, NaN, 0.6], (x) => x, differs),
      0,
      'a non-finite value is left out',
    );
  });

  it('verdict, as in the issue: KD lost to scratch by 3.1 points, a weak teacher, a student larger than its teacher', () => {
    const lines = reportVerdict({
      testSamples: 2000,
      teacher: report(0.757, 20_000),
      baseline: report(0.809, 25_450),
      student: report(0.778, 25_450),
    });
    assert.deepEqual(
      lines.map((l) => l.tone),
      ['bad', 'warn', 'warn'],
    );
    assert.match(
      lines[0].text,
      /^KD hurt: the KD student is 3\.1 points less accurate than the scratch student, beyond the ±2\.5-point noise of 2,000 test samples/,
    );
    assert.match(lines[1].text, /^Weak teacher: the teacher \(75\.7%\) is less accurate than a student trained from scratch \(80\.9%\)/);
    assert.match(lines[2].text, /not smaller than its teacher \(25,450 vs 20,000 parameters\)/);
  });

  it('verdict: KD helped; within noise; no more accurate teacher; size and latency ratio only beyond noise', () => {
    const fast = { latencyMs: { batch1: 0.02, batch256: 0.001, spread: { batch1: latencySpread([0.018, 0.02, 0.022]), batch256: latencySpread([0.001]) } } };
    const slow = { latencyMs: { batch1: 0.1, batch256: 0.01, spread: { batch1: latencySpread([0.09, 0.1, 0.12]), batch256: latencySpread([0.01]) } } };
    const helped = reportVerdict({
      testSamples: 10_000,
      teacher: report(0.9, 203_530, slow),
      baseline: report(0.84, 12_730),
      student: report(0.86, 12_730, { ...fast, teacherAccuracyKeptPct: 95.6 }),
    });
    assert.deepEqual(
      helped.map((l) => l.tone),
      ['good', 'neutral'],
    );
    assert.match(helped[0].text, /^KD helped: the KD student is 2\.0 points more accurate/);
    assert.equal(
      helped[1].text,
      'The KD student is 16× smaller than the teacher (12,730 vs 203,530 parameters) and 5.0× faster at batch 1, keeping 95.6% of its accuracy.',
    );

    const noisyLatency = {
      latencyMs: { batch1: 0.05, batch256: 0.001, spread: { batch1: latencySpread([0.01, 0.05, 0.2]), batch256: latencySpread([0.001]) } },
    };
    const within = reportVerdict({
      testSamples: 1000,
      teacher: report(0.8, 100_000, slow),
      baseline: report(0.8, 50_000),
      student: report(0.81, 50_000, noisyLatency),
    });
    assert.deepEqual(
      within.map((l) => l.tone),
      ['neutral', 'warn', 'neutral'],
    );
    assert.match(within[0].text, /^KD and scratch are within noise: 1\.0 points apart/);
    assert.match(within[1].text, /is no more accurate than a student/);
    assert.equal(
      within[2].text,
      'The KD student is 2.0× smaller than the teacher (50,000 vs 100,000 parameters).',
      'overlapping latency ranges claim no speed-up',
    );
  });

  it('verdict without a scratch student, and with a logits-only teacher (no size to compare)', () => {
    const lines = reportVerdict({ testSamples: 500, teacher: report(0.9, null), student: report(0.85, 1000) });
    assert.deepEqual(
      lines.map((l) => l.tone),
      ['neutral'],
    );
    assert.match(lines[0].text, /compare\.baseline/);
  });
});
