/**
 * Colour scales for heatmaps, from theme colours. Pure (no DOM), so tests compute the colour a cell must have.
 *
 * Probabilities map through a square root: soft labels are mostly tiny values beside one large one, and the
 * "dark knowledge" lives in the tiny ones (0.01 vs 0.05), which a linear scale would paint all alike.
 */

export type Rgb = readonly [number, number, number];

/** `#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb(…)` or `rgba(…)`; alpha is dropped. Undefined for anything else. */
export function parseCssColor(text: string): Rgb | undefined {
  const s = text.trim().toLowerCase();
  let m = /^#([0-9a-f]{3,4})$/.exec(s);
  if (m) return [0, 1, 2].map((i) => parseInt(m![1][i] + m![1][i], 16)) as unknown as Rgb;
  m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/.exec(s);
  if (m) return [0, 2, 4].map((i) => parseInt(m![1].slice(i, i + 2), 16)) as unknown as Rgb;
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(s);
  if (m) return [m[1], m[2], m[3]].map((v) => Math.round(Math.min(255, Number(v)))) as unknown as Rgb;
  return undefined;
}

export const rgbCss = (c: Rgb): string => `rgb(${c[0]}, ${c[1]}, ${c[2]})`;

/** Linear mix in sRGB, rounded to bytes: `t = 0` is `a`, `t = 1` is `b`. */
export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  const u = Math.min(1, Math.max(0, t));
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * u)) as unknown as Rgb;
}

export interface HeatmapColors {
  /** Probability 0, and difference 0: the editor background, so empty cells recede. */
  zero: Rgb;
  /** Probability 1. */
  high: Rgb;
  /** Difference −1 (student below teacher) and +1 (student above teacher). */
  negative: Rgb;
  positive: Rgb;
  /**
   * Root taken of |difference| before mixing: 2 (the probabilities' square root) by default; 4 in high-contrast
   * themes, whose black or white background would otherwise swallow the small differences that make up most cells.
   */
  differenceRoot?: number;
}

/** Where a probability sits on the scale, 0 to 1. */
export const probabilityPosition = (p: number): number => Math.sqrt(Math.min(1, Math.max(0, Number.isFinite(p) ? p : 0)));

/** Colour of a probability in [0, 1]. */
export const probabilityColor = (c: HeatmapColors, p: number): Rgb => mix(c.zero, c.high, probabilityPosition(p));

/** Colour of a signed difference in [−1, 1], on the same square-root scale as probabilities. */
export function differenceColor(c: HeatmapColors, d: number): Rgb {
  const v = Number.isFinite(d) ? d : 0;
  return v < 0 ? mix(c.zero, c.negative, differencePosition(c, -v)) : mix(c.zero, c.positive, differencePosition(c, v));
}

/** Where |d| sits on the difference scale, 0 to 1 (see `differenceRoot`). */
export const differencePosition = (c: HeatmapColors, magnitude: number): number =>
  Math.pow(Math.min(1, Math.max(0, Number.isFinite(magnitude) ? magnitude : 0)), 1 / (c.differenceRoot ?? 2));

/** Colour of a fraction (row-normalised confusion counts), linear. */
export const fractionColor = (c: HeatmapColors, f: number): Rgb => mix(c.zero, c.high, f);

/** Relative luminance (WCAG), to pick readable text on a cell. */
export function luminance(c: Rgb): number {
  const [r, g, b] = c.map((v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
