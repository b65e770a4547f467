import { strict as assert } from 'node:assert';
import { isDistillError } from '../../src/shared/errors';
import { resolveThreads } from '../../src/engine/train/threads';
import { singleThreadReason } from '../../src/engine/train/trainer';
import { isFusedDivergence } from '../../src/engine/kd/stepStats';
import { DIVERGENCES } from '../../src/shared/divergences';

describe('engine.threads: how many threads a run trains on', () => {
  it('is every core when the config names none and no parent set a budget, and is recorded', () => {
    assert.deepEqual(resolveThreads(undefined, 'wasm', {}, 8), { threads: 8, reason: 'engine.threads not set: 8, the cores of this machine', filled: true });
  });

  it("is the config's count when it names one, on wasm and cpu", () => {
    assert.equal(resolveThreads(3, 'wasm', { DISTILL_THREADS: '1' }, 2).threads, 3);
    assert.equal(resolveThreads(1, 'cpu', {}, 16).threads, 1);
    assert.equal(resolveThreads(3, 'wasm', {}, 2).filled, false);
  });

  it('takes the budget a parent process gives (two engines on 2 cores: 1 each) over the core count', () => {
    const choice = resolveThreads(undefined, 'wasm', { DISTILL_THREADS: '1' }, 2);
    assert.deepEqual([choice.threads, choice.filled], [1, true]);
    assert.match(choice.reason, /DISTILL_THREADS/);
  });

  it('is 1 on the backends that spread a step over the machine by themselves, saying so when asked for more', () => {
    for (const backend of ['tensorflow', 'tensorflow-gpu', 'webgpu'] as const) {
      assert.equal(resolveThreads(undefined, backend, {}, 8).threads, 1);
      assert.match(resolveThreads(4, backend, {}, 8).reason, /applies to wasm and cpu only/);
    }
  });

  it('rejects a budget that is not a whole number of threads, naming the variable and the fix', () => {
    for (const bad of ['0', '1.5', 'two', '-2', '1000']) {
      assert.throws(
        () => resolveThreads(undefined, 'wasm', { DISTILL_THREADS: bad }, 2),
        (e: unknown) => isDistillError(e) && /DISTILL_THREADS must be a whole number from 1 to 64, got "/.test(e.message) && /engine\.threads/.test(e.message),
      );
    }
  });

  it('is 1 for transfer sets and DKD (the threads carry neither the unlabelled mask nor DKD\u2019s stats yet), saying why', () => {
    const why = 'transfer sets / DKD train on one thread for now';
    assert.equal(singleThreadReason({ data: { unlabeled: { images: 'u.idx' } }, distillation: {} } as never), why);
    assert.equal(singleThreadReason({ data: { labeled: { perClass: 10 } }, distillation: {} } as never), why);
    assert.equal(singleThreadReason({ data: {}, distillation: { divergence: 'dkd' } } as never), why);
    assert.equal(singleThreadReason({ data: {}, distillation: { divergence: 'forward-kl' } } as never), undefined);
  });

  it('is 1 for every divergence without fused kernels, which the training threads run: only the fused ones get threads', () => {
    // A divergence added as `fused: 'composed-only'` must not reach a thread (it would fail there, mid-run).
    for (const divergence of DIVERGENCES) {
      const why = singleThreadReason({ data: {}, distillation: { divergence } } as never);
      assert.equal(why !== undefined, !isFusedDivergence(divergence), `${divergence}: ${why}`);
    }
  });
});
