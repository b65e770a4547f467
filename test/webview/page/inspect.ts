/**
 * Runs in the test page before the dashboard's script (a Playwright init script, so the page's CSP does not apply
 * to it): stands in for VS Code's `acquireVsCodeApi`, applies a theme the way VS Code does, records what is drawn
 * on canvases, and exposes `window.__test` (see api.ts) to the Node side of the tests.
 */
import type { EpochRecord } from '../../../src/shared/records';
import type { HostToWebview, RunData, RunDelta } from '../../../src/shared/webviewProtocol';
import { syntheticRun, syntheticStepColumns } from '../synthetic';
import { BODY_CLASSES, THEME_VARIABLES, type FrameStats, type PageTestApi, type ThemeName } from './api';

declare global {
  interface Window {
    __test: PageTestApi;
    /** Set by the test before load: the state a restored webview finds (what the serializer would hand back). */
    __initialState?: unknown;
    __initialTheme?: ThemeName;
  }
}

const posted: unknown[] = [];
let savedState: unknown = window.__initialState;
const violations: string[] = [];
const errors: string[] = [];

window.acquireVsCodeApi = (() => ({
  postMessage: (message: unknown) => {
    posted.push(structuredClone(message));
  },
  getState: () => savedState,
  setState: <T>(state: T) => {
    savedState = structuredClone(state);
    return state;
  },
})) as typeof window.acquireVsCodeApi;

document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective}: ${e.blockedURI}`));
window.addEventListener('error', (e) => errors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => errors.push(String(e.reason)));

// Record text drawn on canvases: axis labels are drawn, not DOM, so this is how a test reads them.
const drawnTexts = new WeakMap<HTMLCanvasElement, Set<string>>();
const fillText = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (this: CanvasRenderingContext2D, ...args: Parameters<CanvasRenderingContext2D['fillText']>) {
  let set = drawnTexts.get(this.canvas);
  if (!set) drawnTexts.set(this.canvas, (set = new Set()));
  set.add(String(args[0]));
  return fillText.apply(this, args);
};

function applyTheme(name: ThemeName): void {
  for (const [k, v] of Object.entries(THEME_VARIABLES[name])) document.documentElement.style.setProperty(k, v);
  if (document.body) {
    document.body.classList.remove(...Object.values(BODY_CLASSES).flat());
    document.body.classList.add(...BODY_CLASSES[name]);
  }
}

// VS Code puts the theme in place before the webview's script runs; the parser's microtask checkpoint before each
// script lets this observer do the same.
const initialTheme = window.__initialTheme ?? 'dark';
new MutationObserver((_, observer) => {
  if (!document.documentElement) return;
  applyTheme(initialTheme);
  if (document.body) observer.disconnect();
}).observe(document, { childList: true, subtree: true });

function canvas(selector: string): HTMLCanvasElement {
  const c = document.querySelector(selector);
  if (!(c instanceof HTMLCanvasElement)) throw new Error(`no canvas matches ${selector}`);
  return c;
}

function pixel(selector: string, x: number, y: number): number[] {
  const c = canvas(selector);
  const ratio = c.width / c.getBoundingClientRect().width;
  return [...c.getContext('2d')!.getImageData(Math.floor(x * ratio), Math.floor(y * ratio), 1, 1).data];
}

const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));

function percentile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

/** Frame intervals and long tasks while `during` runs. */
async function measureFrames(durationMs: number, during: () => void): Promise<FrameStats> {
  const longTasks: number[] = [];
  const observer = new PerformanceObserver((list) => list.getEntries().forEach((e) => longTasks.push(e.duration)));
  observer.observe({ type: 'longtask', buffered: false });
  const intervals: number[] = [];
  let last = await nextFrame();
  const end = last + durationMs;
  during();
  while (last < end) {
    const t = await nextFrame();
    intervals.push(t - last);
    last = t;
  }
  observer.disconnect();
  const sorted = [...intervals].sort((a, b) => a - b);
  return {
    frames: intervals.length,
    meanMs: intervals.reduce((a, b) => a + b, 0) / Math.max(1, intervals.length),
    p50Ms: percentile(sorted, 0.5),
    p95Ms: percentile(sorted, 0.95),
    maxMs: sorted[sorted.length - 1] ?? NaN,
    longTasks: longTasks.length,
    longestTaskMs: longTasks.length ? Math.max(...longTasks) : 0,
  };
}

const SCALE_RUN_DIR = '/synthetic/runs/scale-run';
let scaleSteps = 0;
let scaleStepsPerEpoch = 1;

window.__test = {
  posted: () => posted,
  state: () => savedState,
  deliver: (message) => window.postMessage(message, '*'),
  applyTheme,
  cellPixel(selector, row, col) {
    const c = canvas(selector);
    const d = c.dataset;
    const cell = Number(d.cell);
    return pixel(selector, Number(d.left) + (col + 0.5) * cell, Number(d.top) + (row + 0.5) * cell);
  },
  pixel,
  rowsWithColor(selector, x0, x1, color, tolerance = 16) {
    const c = canvas(selector);
    const ratio = c.width / c.getBoundingClientRect().width;
    const want = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
    const left = Math.max(0, Math.floor(x0 * ratio));
    const width = Math.max(1, Math.min(c.width - left, Math.ceil((x1 - x0) * ratio)));
    const data = c.getContext('2d')!.getImageData(left, 0, width, c.height).data;
    const rows = new Set<number>();
    for (let y = 0; y < c.height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        if (data[i + 3] >= 96 && want.every((v, k) => Math.abs(v - data[i + k]) <= tolerance)) rows.add(Math.round(y / ratio));
      }
    }
    return [...rows].sort((a, b) => a - b);
  },
  colorsIn(selector) {
    const c = canvas(selector);
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<string>();
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] < 255) continue;
      seen.add(`#${[data[i], data[i + 1], data[i + 2]].map((v) => v.toString(16).padStart(2, '0')).join('')}`);
    }
    return [...seen];
  },
  textsDrawn(selector) {
    const out = new Set<string>();
    document.querySelectorAll(`${selector} canvas, canvas${selector}`).forEach((c) => drawnTexts.get(c as HTMLCanvasElement)?.forEach((t) => out.add(t)));
    return [...out];
  },
  cspViolations: () => violations,
  errors: () => errors,
  setRange(selector, value) {
    const input = document.querySelector(selector);
    if (!(input instanceof HTMLInputElement)) throw new Error(`no input matches ${selector}`);
    input.value = String(value);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  },

  async scaleSnapshot(perStudent, stepsPerEpoch) {
    const t0 = performance.now();
    const epochs = Math.ceil(perStudent / stepsPerEpoch);
    const small = syntheticRun({ runId: 'scale-run', epochs, stepsPerEpoch: 1, probeSize: 32 });
    const run: RunData = {
      runId: 'scale-run',
      runDir: SCALE_RUN_DIR,
      status: 'running',
      statusFile: { ...small.status, status: 'running' },
      config: small.config,
      probe: small.probe,
      steps: [
        syntheticStepColumns('kd', perStudent, stepsPerEpoch, 1, perStudent * 2),
        syntheticStepColumns('baseline', perStudent, stepsPerEpoch, 1, perStudent * 2),
      ],
      epochs: small.metrics.filter((r): r is EpochRecord => r.kind === 'epoch'),
      softLabels: small.softLabels,
      skippedLines: 0,
    };
    scaleSteps = perStudent;
    scaleStepsPerEpoch = stepsPerEpoch;
    const t1 = performance.now();
    const message: HostToWebview = { type: 'snapshot', view: 'run', runs: [run] };
    window.postMessage(message, '*');
    // Delivered asynchronously; the store renders synchronously when it arrives, then the next frame paints.
    while (document.querySelector('.readout')?.getAttribute('data-steps') !== String(perStudent * 2)) await nextFrame();
    await nextFrame();
    return { generateMs: t1 - t0, deliverAndDrawMs: performance.now() - t1 };
  },

  async scaleStream(durationMs, stepsPerDelta) {
    let deltas = 0;
    let timer: ReturnType<typeof setInterval> | undefined;
    const stats = await measureFrames(durationMs, () => {
      timer = setInterval(() => {
        const first = scaleSteps + 1;
        const total = Math.max(scaleSteps * 2, first + stepsPerDelta);
        const delta: RunDelta = {
          runDir: SCALE_RUN_DIR,
          steps: [
            syntheticStepColumns('kd', stepsPerDelta, scaleStepsPerEpoch, first, total),
            syntheticStepColumns('baseline', stepsPerDelta, scaleStepsPerEpoch, first, total),
          ],
        };
        scaleSteps += stepsPerDelta;
        deltas++;
        window.postMessage({ type: 'delta', deltas: [delta] } satisfies HostToWebview, '*');
      }, 50);
    });
    clearInterval(timer);
    await nextFrame();
    return { ...stats, deltas, steps: scaleSteps * 2 };
  },

  scaleZoom(times) {
    const over = document.querySelector('[data-chart="loss"] .u-over');
    if (!(over instanceof HTMLElement)) throw new Error('no loss chart');
    const rect = over.getBoundingClientRect();
    const durations: number[] = [];
    for (let i = 0; i < times; i++) {
      // Zoom in for the first half, out for the second: each wheel event redraws every step chart synchronously.
      const t = performance.now();
      over.dispatchEvent(
        new WheelEvent('wheel', {
          deltaY: i < times / 2 ? -100 : 100,
          clientX: rect.left + rect.width * 0.7,
          clientY: rect.top + rect.height / 2,
          bubbles: true,
          cancelable: true,
        }),
      );
      durations.push(performance.now() - t);
    }
    const points = Number(
      document
        .querySelector('.readout')
        ?.textContent?.match(/([\d,]+) points drawn/)?.[1]
        ?.replace(/,/g, '') ?? NaN,
    );
    return { meanMs: durations.reduce((a, b) => a + b, 0) / durations.length, maxMs: Math.max(...durations), pointsDrawn: points };
  },

  heap() {
    const memory = (performance as Performance & { memory?: { usedJSHeapSize: number; totalJSHeapSize: number } }).memory;
    return memory ? { usedJSHeapSize: memory.usedJSHeapSize, totalJSHeapSize: memory.totalJSHeapSize } : undefined;
  },
};
