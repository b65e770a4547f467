import assert from 'node:assert/strict';
import { DeltaBatcher, MIN_POST_INTERVAL_MS } from '../../src/extension/dashboard/deltaBatcher';
import { StepColumnsBuilder, mergeDeltas } from '../../src/extension/dashboard/runSource';
import type { StepRecord } from '../../src/shared/records';
import type { RunData, RunDelta } from '../../src/shared/webviewProtocol';

const step = (i: number): StepRecord => ({
  kind: 'step',
  student: 'kd',
  epoch: 1,
  step: i,
  loss: i / 10,
  kd: 1,
  kdUnscaled: 0.1,
  ce: 0.5,
  temperature: 4,
  alpha: 0.7,
  lr: 0.001,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dashboard: DeltaBatcher (≤ 20 posts a second)', () => {
  it('posts the first delta at once, then coalesces a fast stream into one post per interval, losing nothing', async () => {
    const posts: RunDelta[][] = [];
    const batcher = new DeltaBatcher((d) => posts.push(d));
    const builder = new StepColumnsBuilder();
    batcher.push({ runDir: '/r', steps: builder.build([step(1)]) });
    assert.equal(posts.length, 1, 'the first delta after a quiet period is not delayed');

    const started = Date.now();
    let next = 2;
    while (Date.now() - started < 500) {
      batcher.push({ runDir: '/r', steps: builder.build([step(next++), step(next++)]) });
      await sleep(2);
    }
    batcher.flush();
    const elapsed = Date.now() - started;
    assert.ok(posts.length <= Math.ceil(elapsed / MIN_POST_INTERVAL_MS) + 2, `${posts.length} posts in ${elapsed} ms`);
    assert.ok(
      posts.every((p) => p.length === 1),
      'one delta per run per post',
    );
    const globalSteps = posts.flatMap((p) => [...(p[0].steps?.[0].globalStep ?? [])]);
    assert.deepEqual(
      globalSteps,
      Array.from({ length: next - 1 }, (_, i) => i + 1),
      'every step, once, in order',
    );
    batcher.dispose();
  });

  it('keeps runs apart and drops what is pending when cleared', async () => {
    const posts: RunDelta[][] = [];
    const batcher = new DeltaBatcher((d) => posts.push(d), 30);
    batcher.push({ runDir: '/a', status: 'running' });
    batcher.push({ runDir: '/a', status: 'completed' });
    batcher.push({ runDir: '/b', status: 'failed' });
    await sleep(60);
    assert.deepEqual(posts, [
      [{ runDir: '/a', status: 'running' }],
      [
        { runDir: '/a', status: 'completed' },
        { runDir: '/b', status: 'failed' },
      ],
    ]);
    batcher.push({ runDir: '/a', status: 'stopped' });
    batcher.push({ runDir: '/a', status: 'running' });
    batcher.clear();
    const postedBeforeClear = posts.length;
    await sleep(60);
    assert.equal(posts.length, postedBeforeClear, 'nothing pending went out after clear()');
  });

  it('merges a reset with later deltas into one reset', () => {
    const builder = new StepColumnsBuilder();
    const reset: RunData = {
      runId: 'r',
      runDir: '/r',
      status: 'running',
      steps: builder.build([step(1), step(2)]),
      epochs: [],
      softLabels: [],
      skippedLines: 0,
    };
    const merged = mergeDeltas({ runDir: '/r', reset }, { runDir: '/r', steps: builder.build([step(3)]), status: 'completed' });
    assert.equal(merged.reset?.status, 'completed');
    assert.deepEqual([...merged.reset.steps[0].globalStep], [1, 2, 3]);
    assert.deepEqual(
      [...merged.reset.steps[0].loss].map((v) => Math.round(v * 10)),
      [1, 2, 3],
    );
  });
});
