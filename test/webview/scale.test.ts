/**
 * A million step records in the dashboard: 500,000 for the KD student and 500,000 for the baseline, built in the
 * page (page/inspect.ts, with the same synthetic generator) and posted as one snapshot the way the host would,
 * then streamed onto with deltas at the host's batch rate while frames are measured, then zoomed with the wheel.
 * Prints frame times and memory; asserts only what must hold whatever the machine: every record arrived, and what
 * uPlot gets stays a few points per pixel.
 */
import assert from 'node:assert/strict';
import { call, screenshot, startHarness, type DashboardHarness } from './harness';

const PER_STUDENT = 500_000;
const STEPS_PER_EPOCH = 5_000;
const MiB = 1024 * 1024;

describe('dashboard webview at 1,000,000 step records (chromium)', function () {
  this.timeout(90_000);
  let harness: DashboardHarness;

  before(async () => {
    harness = await startHarness();
  });

  after(async () => {
    await harness?.close();
  });

  it('takes the snapshot, keeps streaming, and zooms, drawing a few points per pixel', async () => {
    const page = await harness.open({ width: 1280, height: 900 });
    const cdp = await harness.context.newCDPSession(page);
    const heapBefore = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; totalSize: number; backingStorageSize?: number };

    const load = await call(page, 'scaleSnapshot', PER_STUDENT, STEPS_PER_EPOCH);
    const stream = await call(page, 'scaleStream', 3000, 100);
    const zoom = await call(page, 'scaleZoom', 16);
    await cdp.send('HeapProfiler.collectGarbage');
    const heapAfter = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; totalSize: number; backingStorageSize?: number };
    const metrics = (await cdp.send('Performance.enable').then(() => cdp.send('Performance.getMetrics'))) as { metrics: { name: string; value: number }[] };
    const metric = (name: string) => metrics.metrics.find((m) => m.name === name)?.value ?? NaN;
    const memory = await call(page, 'heap');
    await screenshot(page, 'scale-1m-steps');

    const steps = Number(await page.getAttribute('.readout', 'data-steps'));
    const drawnText = (await page.textContent('.readout')) ?? '';
    const pointsDrawn = Number(drawnText.match(/([\d,]+) points drawn/)?.[1].replace(/,/g, ''));
    const lines = await page.locator('[data-section="steps"] .u-legend .u-series').count();

    console.log(
      [
        `      1M-step scale (${PER_STUDENT.toLocaleString('en-US')} KD + ${PER_STUDENT.toLocaleString('en-US')} baseline records, 6 step charts, 1280 px wide):`,
        `        generate in page ${load.generateMs.toFixed(0)} ms; deliver snapshot + build columns/pyramids + first draw ${load.deliverAndDrawMs.toFixed(0)} ms`,
        `        streaming ${stream.deltas} deltas (2×100 steps each, every 50 ms) for 3 s: ${stream.frames} frames, mean ${stream.meanMs.toFixed(1)} ms, p50 ${stream.p50Ms.toFixed(1)} ms, p95 ${stream.p95Ms.toFixed(1)} ms, max ${stream.maxMs.toFixed(1)} ms; long tasks ${stream.longTasks} (longest ${stream.longestTaskMs.toFixed(0)} ms)`,
        `        wheel zoom, all step charts redrawn: mean ${zoom.meanMs.toFixed(1)} ms, max ${zoom.maxMs.toFixed(1)} ms per event`,
        `        points handed to uPlot: ${pointsDrawn.toLocaleString('en-US')} for ${steps.toLocaleString('en-US')} records`,
        `        JS heap: ${(heapBefore.usedSize / MiB).toFixed(1)} MiB before, ${(heapAfter.usedSize / MiB).toFixed(1)} MiB after (Runtime.getHeapUsage); typed-array backing stores ${heapAfter.backingStorageSize !== undefined ? `${(heapAfter.backingStorageSize / MiB).toFixed(1)} MiB` : 'not reported'}; Performance.getMetrics JSHeapUsedSize ${(metric('JSHeapUsedSize') / MiB).toFixed(1)} MiB; performance.memory.usedJSHeapSize ${memory ? (memory.usedJSHeapSize / MiB).toFixed(1) : '?'} MiB`,
      ].join('\n'),
    );

    assert.equal(steps, 2 * PER_STUDENT + stream.deltas * 200, 'every streamed record reached the charts');
    assert.equal(stream.steps, steps);
    // Each step chart line gets at most two points per horizontal pixel, however many records there are.
    assert.ok(pointsDrawn < 2 * 1280 * lines, `${pointsDrawn} points for ${lines} legend rows is not downsampled`);
    assert.deepEqual(await call(page, 'errors'), []);
    await page.close();
  });
});
