/** What the heatmaps should show, written out independently of the webview's code: colours and mean entropies. */
import assert from 'node:assert/strict';
import { entropy, softmaxRow } from '../../src/shared/math';
import { THEME_VARIABLES, type ThemeName } from './page/api';

export const hex = (s: string) => [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
/** The heatmap scale, written out independently of the webview's code: background → charts-blue on √p. */
export const expectedProbabilityColor = (theme: ThemeName, p: number) => {
  const bg = hex(THEME_VARIABLES[theme]['--vscode-editor-background']);
  const hi = hex(THEME_VARIABLES[theme]['--vscode-charts-blue']);
  return bg.map((b, i) => Math.round(b + (hi[i] - b) * Math.sqrt(p)));
};
/** The difference scale: background → orange (below) or purple (above) on √|d|, or the 4th root in high contrast. */
export const expectedDifferenceColor = (theme: ThemeName, d: number) => {
  const bg = hex(THEME_VARIABLES[theme]['--vscode-editor-background']);
  const end = hex(THEME_VARIABLES[theme][d < 0 ? '--vscode-charts-orange' : '--vscode-charts-purple']);
  const root = theme === 'high-contrast' ? 4 : 2;
  return bg.map((b, i) => Math.round(b + (end[i] - b) * Math.pow(Math.abs(d), 1 / root)));
};
export const assertColorNear = (actual: number[], expected: number[], what: string) =>
  assert.ok(
    expected.every((v, i) => Math.abs(v - actual[i]) <= 2),
    `${what}: expected rgb(${expected}) but the canvas has rgb(${actual.slice(0, 3)})`,
  );

/** Mean entropy (nats) of the rows' softmax at T. */
export const meanEntropy = (logits: number[][], T: number) => logits.reduce((s, row) => s + entropy(softmaxRow(row, T)), 0) / logits.length;
