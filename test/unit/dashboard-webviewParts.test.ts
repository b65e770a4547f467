/** The DOM-free parts of the dashboard: page and CSP, colour scales, config diff, downsampling. */
import assert from 'node:assert/strict';
import { contentSecurityPolicy, dashboardHtml, newNonce } from '../../src/extension/dashboard/html';
import { differenceColor, parseCssColor, probabilityColor } from '../../src/webview/charts/colorScale';
import { differingKeys } from '../../src/webview/configDiff';
import { downsample, EmaSmoother, F32Column, F64Column, MinMaxPyramid, PlotLine } from '../../src/webview/charts/columns';
import { isDashboardState } from '../../src/shared/webviewProtocol';
import { rng, syntheticConfig, defaultSyntheticOptions } from '../webview/synthetic';

describe('dashboard: page and Content-Security-Policy', () => {
  it('allows only the nonce’d script and the webview’s own origin, and escapes what it embeds', () => {
    const nonce = newNonce();
    assert.notEqual(nonce, newNonce());
    const csp = contentSecurityPolicy('https://x.vscode-cdn.net', nonce);
    assert.match(csp, /^default-src 'none';/);
    assert.match(csp, new RegExp(`script-src 'nonce-${nonce}'`));
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|connect-src|\*/);
    const html = dashboardHtml({
      cspSource: 'https://x',
      nonce,
      scriptUri: 'https://x/dist/webview.js',
      styleUri: 'https://x/dist/webview.css',
      title: 'run <b>"1"</b>',
    });
    assert.match(html, /<title>run &#60;b&#62;&#34;1&#34;&#60;\/b&#62;<\/title>/);
    assert.equal(html.match(/<script/g)?.length, 1);
    assert.match(html, new RegExp(`<script nonce="${nonce}" src="https://x/dist/webview.js">`));
  });

  it('trusts a restored state only in its known shape', () => {
    const ui = { tab: 'curves', smoothing: 0.6, logScale: false, student: 'kd', row: 0 };
    assert.ok(isDashboardState({ version: 1, view: 'run', runDirs: ['/r'], ui }));
    assert.ok(!isDashboardState({ version: 2, view: 'run', runDirs: ['/r'], ui }));
    assert.ok(!isDashboardState({ version: 1, view: 'run', runDirs: [], ui }));
    assert.ok(!isDashboardState(undefined));
  });
});

describe('dashboard: colour scales', () => {
  it('parses the colour forms themes use', () => {
    assert.deepEqual(parseCssColor('#1e1e1e'), [30, 30, 30]);
    assert.deepEqual(parseCssColor('#FFF'), [255, 255, 255]);
    assert.deepEqual(parseCssColor('#80808059'), [128, 128, 128]);
    assert.deepEqual(parseCssColor('rgba(55, 148, 255, 0.5)'), [55, 148, 255]);
    assert.equal(parseCssColor('var(--x)'), undefined);
  });

  it('maps probability 0 to the background, 1 to the accent, and ¼ halfway (√ scale)', () => {
    const c = { zero: [0, 0, 0] as const, high: [200, 100, 50] as const, negative: [255, 0, 0] as const, positive: [0, 0, 255] as const };
    assert.deepEqual(probabilityColor(c, 0), [0, 0, 0]);
    assert.deepEqual(probabilityColor(c, 1), [200, 100, 50]);
    assert.deepEqual(probabilityColor(c, 0.25), [100, 50, 25]);
    assert.deepEqual(differenceColor(c, -0.25), [128, 0, 0]);
    assert.deepEqual(differenceColor(c, 1), [0, 0, 255]);
  });
});

describe('dashboard: config diff', () => {
  it('lists the dotted keys whose values differ, arrays compared whole', () => {
    const a = syntheticConfig(defaultSyntheticOptions);
    const b = syntheticConfig({ ...defaultSyntheticOptions, temperature: [8, 2] });
    const { keys } = differingKeys([a, { ...b, student: { preset: 'mlp', hidden: [64] } }]);
    assert.deepEqual(keys, ['distillation.schedule.start.temperature', 'distillation.temperature', 'student.hidden']);
  });
});

describe('dashboard: columns, pyramid and downsampling', () => {
  const random = rng(3);
  const line = (xs: number[], ys: number[]) => {
    const x = new F64Column();
    const y = new F32Column();
    x.append(xs);
    y.append(ys);
    return new PlotLine(x, y);
  };

  it('grows across chunks without losing values, and keeps small columns small', () => {
    const c = new F64Column();
    const values = Array.from({ length: 200_000 }, (_, i) => i * 0.5);
    c.append(values.slice(0, 100));
    for (let i = 100; i < 70_000; i++) c.push(values[i]);
    c.append(new Float64Array(values.slice(70_000)));
    assert.equal(c.length, values.length);
    for (const i of [0, 99, 100, 65_535, 65_536, 69_999, 70_000, 199_999]) assert.equal(c.at(i), values[i]);
    const small = new F32Column();
    small.append([1, 2, 3]);
    assert.ok(small.byteLength <= 1024);
  });

  it('gives the min and max of any range, as brute force does, while values keep arriving (NaN ignored)', () => {
    const values: number[] = [];
    const col = new F32Column();
    const pyramid = new MinMaxPyramid();
    for (let round = 0; round < 6; round++) {
      const more = Array.from({ length: 1 + Math.floor(random() * 3000) }, () => (random() < 0.01 ? NaN : Math.fround(random() * 100 - 50)));
      values.push(...more);
      col.append(more);
      pyramid.update(col, col.length);
      for (let q = 0; q < 200; q++) {
        const lo = Math.floor(random() * values.length);
        const hi = lo + 1 + Math.floor(random() * (values.length - lo));
        const finite = values.slice(lo, hi).filter((v) => !Number.isNaN(v));
        const got = pyramid.range(col, lo, hi, { min: 0, max: 0 });
        assert.equal(got.min, finite.length ? Math.min(...finite) : Infinity, `min of [${lo}, ${hi})`);
        assert.equal(got.max, finite.length ? Math.max(...finite) : -Infinity, `max of [${lo}, ${hi})`);
      }
    }
  });

  it('downsamples to each bucket’s min and max, two points per bucket, whatever the number of points', () => {
    const n = 100_000;
    const xs = Array.from({ length: n }, (_, i) => i + 1);
    const ys = xs.map((x) => Math.fround(Math.sin(x / 900) + random() * 0.3));
    const buckets = 300;
    const d = downsample([line(xs, ys)], 1, n, buckets);
    assert.equal(d.mode, 'minmax');
    assert.equal(d.x.length, 2 * buckets);
    const width = (n - 1) / buckets;
    for (const b of [0, 1, 150, 299]) {
      const inBucket = ys.filter((_, i) => xs[i] >= 1 + b * width && (b === buckets - 1 ? xs[i] <= n : xs[i] < 1 + (b + 1) * width));
      const pair = [d.ys[0][2 * b], d.ys[0][2 * b + 1]] as number[];
      assert.deepEqual([Math.min(...pair), Math.max(...pair)], [Math.min(...inBucket), Math.max(...inBucket)], `bucket ${b}`);
    }
  });

  it('keeps every point when there are few, aligning lines with different x on one axis', () => {
    const d = downsample([line([1, 2, 3, 4], [10, 20, 30, 40]), line([2, 4, 6], [-1, 5, 7])], 2, 4, 100, true);
    assert.equal(d.mode, 'exact');
    assert.deepEqual(d.x, [1, 2, 3, 4, 6], 'one point beyond each edge is kept');
    assert.deepEqual(
      d.ys,
      [
        [10, 20, 30, 40, null],
        [null, null, null, 5, 7],
      ],
      'the log scale drops values ≤ 0',
    );
  });

  it('smooths like TensorBoard: debiased, so a constant stays constant from the first point', () => {
    const ema = new EmaSmoother(0.9);
    assert.deepEqual(
      [5, 5, 5].map((v) => ema.next(v)).map((v) => +v.toFixed(12)),
      [5, 5, 5],
    );
    const e2 = new EmaSmoother(0.5);
    // last: 0.5·0 + 0.5·2 = 1 → /(1 − 0.5) = 2; then 0.5·1 + 0.5·4 = 2.5 → /(1 − 0.25) = 3.333…
    assert.deepEqual(
      [2, 4].map((v) => e2.next(v)),
      [2, 2.5 / 0.75],
    );
    assert.ok(Number.isNaN(e2.next(NaN)));
  });
});
