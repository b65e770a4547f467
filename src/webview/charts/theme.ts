/**
 * The VS Code theme as canvas colours. CSS follows the theme through `--vscode-*` variables by itself; canvases
 * (uPlot, heatmaps) need the values, read with getComputedStyle, and re-read when VS Code switches theme (it
 * changes the body's `vscode-light` / `vscode-dark` / `vscode-high-contrast` class and the variables on <html>).
 */
import { parseCssColor, type HeatmapColors, type Rgb } from './colorScale';

export type ThemeKind = 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';

export interface Theme {
  kind: ThemeKind;
  background: string;
  foreground: string;
  muted: string;
  grid: string;
  /** Focus/selection outline. */
  accent: string;
  fontFamily: string;
  fontSize: number;
  /** Distinct line colours, in order: KD student, baseline, then more runs. */
  palette: string[];
  heat: HeatmapColors;
}

const FALLBACK: Record<ThemeKind, Record<string, string>> = {
  light: {
    bg: '#ffffff',
    fg: '#3b3b3b',
    muted: '#717171',
    grid: '#e5e5e5',
    blue: '#1a85ff',
    orange: '#d18616',
    green: '#388a34',
    purple: '#652d90',
    red: '#e51400',
    yellow: '#bf8803',
  },
  dark: {
    bg: '#1e1e1e',
    fg: '#cccccc',
    muted: '#9d9d9d',
    grid: '#3c3c3c',
    blue: '#3794ff',
    orange: '#d18616',
    green: '#89d185',
    purple: '#b180d7',
    red: '#f14c4c',
    yellow: '#cca700',
  },
  'high-contrast': {
    bg: '#000000',
    fg: '#ffffff',
    muted: '#ffffff',
    grid: '#6fc3df',
    blue: '#3794ff',
    orange: '#d18616',
    green: '#89d185',
    purple: '#b180d7',
    red: '#f48771',
    yellow: '#ffd700',
  },
  'high-contrast-light': {
    bg: '#ffffff',
    fg: '#292929',
    muted: '#292929',
    grid: '#0f4a85',
    blue: '#0f4a85',
    orange: '#b5200d',
    green: '#374e06',
    purple: '#652d90',
    red: '#b5200d',
    yellow: '#895503',
  },
};

export function themeKind(body: HTMLElement = document.body): ThemeKind {
  const c = body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (c.contains('vscode-high-contrast')) return 'high-contrast';
  if (c.contains('vscode-light')) return 'light';
  return 'dark';
}

export function readTheme(): Theme {
  const style = getComputedStyle(document.body);
  const kind = themeKind();
  const fallback = FALLBACK[kind];
  const v = (names: string[], fb: string): string => {
    for (const n of names) {
      const value = style.getPropertyValue(n).trim();
      if (value) return value;
    }
    return fb;
  };
  const rgb = (text: string, fb: string): Rgb => parseCssColor(text) ?? parseCssColor(fb)!;

  const background = v(['--vscode-editor-background', '--vscode-panel-background'], fallback.bg);
  const foreground = v(['--vscode-editor-foreground', '--vscode-foreground'], fallback.fg);
  const blue = v(['--vscode-charts-blue'], fallback.blue);
  const orange = v(['--vscode-charts-orange'], fallback.orange);
  const green = v(['--vscode-charts-green'], fallback.green);
  const purple = v(['--vscode-charts-purple'], fallback.purple);
  const red = v(['--vscode-charts-red'], fallback.red);
  const yellow = v(['--vscode-charts-yellow'], fallback.yellow);
  const fontSize = parseFloat(v(['--vscode-font-size'], '13')) || 13;

  return {
    kind,
    background,
    foreground,
    muted: v(['--vscode-descriptionForeground'], fallback.muted),
    grid: v(['--vscode-charts-lines', '--vscode-editorWidget-border', '--vscode-panel-border'], fallback.grid),
    accent: v(['--vscode-focusBorder'], blue),
    fontFamily: v(['--vscode-font-family'], 'system-ui, sans-serif'),
    fontSize,
    palette: [blue, orange, green, purple, red, yellow],
    heat: {
      zero: rgb(background, fallback.bg),
      high: rgb(blue, fallback.blue),
      negative: rgb(orange, fallback.orange),
      positive: rgb(purple, fallback.purple),
      differenceRoot: kind.startsWith('high-contrast') ? 4 : 2,
    },
  };
}

/** Calls `onChange` with the new theme whenever VS Code switches it. Returns a function that stops watching. */
export function watchTheme(onChange: (theme: Theme) => void): () => void {
  let last = JSON.stringify(readTheme());
  const check = () => {
    const theme = readTheme();
    const key = JSON.stringify(theme);
    if (key === last) return;
    last = key;
    onChange(theme);
  };
  const observer = new MutationObserver(check);
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  return () => observer.disconnect();
}

/** `font` shorthand for canvas text at the theme's UI font. */
export const canvasFont = (t: Theme, scale = 1, weight = ''): string => `${weight} ${Math.round(t.fontSize * scale)}px ${t.fontFamily}`.trim();
