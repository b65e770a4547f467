import { strict as assert } from 'node:assert';
import { computeRatios, formatTable, mediansOf, type MachineInfo, type Measurement } from '../../src/engine/bench/report';

const machine: MachineInfo = { cores: 2, cpu: 'test CPU', loadAverage: 0, node: 'v20', tfjs: '4' };
const kd = (threads: number, samplesPerSec: number, round: number): Measurement => ({
  case: 'kd-train',
  model: 'cnn-small',
  backend: 'wasm',
  engine: 'distill',
  batch: 256,
  threads,
  samplesPerSec,
  samplesPerCpuSec: samplesPerSec / threads,
  round,
});
const torch = (samplesPerSec: number, round: number): Measurement => ({
  case: 'kd-train',
  model: 'cnn-small',
  backend: 'cpu',
  engine: 'torch',
  batch: 256,
  threads: 2,
  samplesPerSec,
  round,
});

describe('bench report over several rounds', () => {
  // Three rounds; the second is the one a neighbour's load hit (every case slow in it).
  const measured = [
    kd(1, 1000, 0),
    kd(2, 1800, 0),
    torch(1500, 0),
    kd(1, 700, 1),
    kd(2, 1000, 1),
    torch(1200, 1),
    kd(1, 950, 2),
    kd(2, 1750, 2),
    torch(1600, 2),
  ];

  it('keeps one median per case, with the round count and range', () => {
    const medians = mediansOf(measured);
    assert.equal(medians.length, 3);
    const one = medians.find((m) => m.engine === 'distill' && m.threads === 1)!;
    assert.equal(one.samplesPerSec, 950);
    assert.equal(one.samplesPerCpuSec, 950);
    assert.equal(one.rounds, 3);
    assert.deepEqual(one.range, [700, 1000]);
    assert.equal(one.round, undefined);
    assert.equal(medians.find((m) => m.engine === 'torch')!.samplesPerSec, 1500);
  });

  it('takes the mean of the middle two for an even count, and leaves single measurements as they are', () => {
    const medians = mediansOf([kd(1, 900, 0), kd(1, 1000, 1), kd(2, 1500, 0)]);
    assert.equal(medians.find((m) => m.threads === 1)!.samplesPerSec, 950);
    assert.deepEqual(
      medians.find((m) => m.threads === 2),
      kd(2, 1500, 0),
    );
  });

  it('computes the targets from the medians and lists each round alone', () => {
    const ratios = computeRatios(measured, [], machine, 100);
    // Medians: 2 threads 1750, 1 thread 950, PyTorch 1500.
    assert.equal(ratios.threadScaling['kd-train cnn-small/wasm/2'], Math.round((1750 / 950) * 100) / 100);
    assert.equal(ratios.kdWasmOverTorch, Math.round((1750 / 1500) * 100) / 100);
    assert.deepEqual(
      ratios.byRound.map((r) => [r.threadScaling, r.kdWasmOverTorch]),
      [
        [1.8, 1.2],
        [1.43, 0.83],
        [1.84, 1.09],
      ],
    );
    assert.equal(ratios.targetsMet['kd-train cnn-small wasm 2 ÷ 1 threads'], true);
    const table = formatTable(measured, [], ratios);
    assert.match(table, /median of 3 rounds, 700–1,000/);
    assert.match(table, /each round: kd-train cnn-small wasm N ÷ 1\s+1\.80×, 1\.43×, 1\.84×/);
  });

  it('lists no rounds for a single-round bench', () => {
    assert.deepEqual(
      computeRatios(
        [kd(1, 1000, 0), kd(2, 1800, 0)].map(({ round: _r, ...m }) => m),
        [],
        machine,
        100,
      ).byRound,
      [],
    );
  });
});
