/**
 * What the browser tests can ask of the test page (implemented in inspect.ts, which runs in the page), and the
 * theme variables the page sets the way VS Code does. No DOM types here: the Node side imports this file too.
 */

export type ThemeName = 'dark' | 'light' | 'high-contrast';

/** A subset of VS Code's Dark+ / Light+ / High Contrast colours: what the dashboard reads. */
export const THEME_VARIABLES: Record<ThemeName, Record<string, string>> = {
  dark: {
    '--vscode-font-family': 'system-ui, sans-serif',
    '--vscode-font-size': '13px',
    '--vscode-editor-font-family': 'monospace',
    '--vscode-editor-background': '#1e1e1e',
    '--vscode-editor-foreground': '#d4d4d4',
    '--vscode-foreground': '#cccccc',
    '--vscode-descriptionForeground': '#9d9d9d',
    '--vscode-charts-lines': '#5a5a5a',
    '--vscode-charts-blue': '#3794ff',
    '--vscode-charts-orange': '#d18616',
    '--vscode-charts-green': '#89d185',
    '--vscode-charts-purple': '#b180d7',
    '--vscode-charts-red': '#f14c4c',
    '--vscode-charts-yellow': '#cca700',
    '--vscode-focusBorder': '#007fd4',
    '--vscode-panel-border': '#80808059',
    '--vscode-button-background': '#0e639c',
    '--vscode-button-foreground': '#ffffff',
    '--vscode-button-hoverBackground': '#1177bb',
    '--vscode-button-secondaryBackground': '#3a3d41',
    '--vscode-button-secondaryForeground': '#cccccc',
    '--vscode-badge-background': '#4d4d4d',
    '--vscode-badge-foreground': '#ffffff',
    '--vscode-dropdown-background': '#3c3c3c',
    '--vscode-dropdown-foreground': '#f0f0f0',
    '--vscode-dropdown-border': '#3c3c3c',
    '--vscode-editorHoverWidget-background': '#252526',
    '--vscode-editorHoverWidget-foreground': '#cccccc',
    '--vscode-editorHoverWidget-border': '#454545',
    '--vscode-editor-selectionBackground': '#264f78',
  },
  light: {
    '--vscode-font-family': 'system-ui, sans-serif',
    '--vscode-font-size': '13px',
    '--vscode-editor-font-family': 'monospace',
    '--vscode-editor-background': '#ffffff',
    '--vscode-editor-foreground': '#000000',
    '--vscode-foreground': '#616161',
    '--vscode-descriptionForeground': '#717171',
    '--vscode-charts-lines': '#c8c8c8',
    '--vscode-charts-blue': '#1a85ff',
    '--vscode-charts-orange': '#d18616',
    '--vscode-charts-green': '#388a34',
    '--vscode-charts-purple': '#652d90',
    '--vscode-charts-red': '#e51400',
    '--vscode-charts-yellow': '#bf8803',
    '--vscode-focusBorder': '#0090f1',
    '--vscode-panel-border': '#80808059',
    '--vscode-button-background': '#007acc',
    '--vscode-button-foreground': '#ffffff',
    '--vscode-button-hoverBackground': '#0062a3',
    '--vscode-button-secondaryBackground': '#5f6a79',
    '--vscode-button-secondaryForeground': '#ffffff',
    '--vscode-badge-background': '#c4c4c4',
    '--vscode-badge-foreground': '#333333',
    '--vscode-dropdown-background': '#ffffff',
    '--vscode-dropdown-foreground': '#616161',
    '--vscode-dropdown-border': '#cecece',
    '--vscode-editorHoverWidget-background': '#f3f3f3',
    '--vscode-editorHoverWidget-foreground': '#616161',
    '--vscode-editorHoverWidget-border': '#c8c8c8',
    '--vscode-editor-selectionBackground': '#add6ff',
  },
  'high-contrast': {
    '--vscode-font-family': 'system-ui, sans-serif',
    '--vscode-font-size': '13px',
    '--vscode-editor-font-family': 'monospace',
    '--vscode-editor-background': '#000000',
    '--vscode-editor-foreground': '#ffffff',
    '--vscode-foreground': '#ffffff',
    '--vscode-descriptionForeground': '#ffffff',
    '--vscode-charts-lines': '#6fc3df',
    '--vscode-charts-blue': '#3794ff',
    '--vscode-charts-orange': '#d18616',
    '--vscode-charts-green': '#89d185',
    '--vscode-charts-purple': '#b180d7',
    '--vscode-charts-red': '#f48771',
    '--vscode-charts-yellow': '#ffd700',
    '--vscode-focusBorder': '#f38518',
    '--vscode-panel-border': '#6fc3df',
    '--vscode-button-background': '#000000',
    '--vscode-button-foreground': '#ffffff',
    '--vscode-button-border': '#6fc3df',
    '--vscode-button-secondaryBackground': '#000000',
    '--vscode-button-secondaryForeground': '#ffffff',
    '--vscode-badge-background': '#000000',
    '--vscode-badge-foreground': '#ffffff',
    '--vscode-dropdown-background': '#000000',
    '--vscode-dropdown-foreground': '#ffffff',
    '--vscode-dropdown-border': '#6fc3df',
    '--vscode-editorHoverWidget-background': '#0c141f',
    '--vscode-editorHoverWidget-foreground': '#ffffff',
    '--vscode-editorHoverWidget-border': '#6fc3df',
    '--vscode-editor-selectionBackground': '#ffffff',
  },
};

export const BODY_CLASSES: Record<ThemeName, string[]> = {
  dark: ['vscode-dark'],
  light: ['vscode-light'],
  'high-contrast': ['vscode-high-contrast'],
};

export interface FrameStats {
  frames: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** Main-thread tasks over 50 ms (PerformanceObserver 'longtask'). */
  longTasks: number;
  longestTaskMs: number;
}

export interface PageTestApi {
  /** Messages the webview posted with `acquireVsCodeApi().postMessage`, oldest first. */
  posted(): unknown[];
  /** What the webview last stored with `setState`. */
  state(): unknown;
  /** Deliver a host message, as VS Code does: a `message` event on the window. */
  deliver(message: unknown): void;
  /** Switch the theme the way VS Code does: variables on <html>, a class on <body>. */
  applyTheme(name: ThemeName): void;
  /** RGBA at the centre of a cell of a canvas drawn by drawMatrix (its data-* geometry). */
  cellPixel(selector: string, row: number, col: number): number[];
  /** RGBA of the canvas pixel at CSS pixel (x, y). */
  pixel(selector: string, x: number, y: number): number[];
  /**
   * The rows (CSS pixels from the canvas top) where a line of `color` ('#rrggbb') is drawn between CSS x `x0` and
   * `x1`: opaque enough pixels whose colour is within `tolerance` per channel. Canvas pixels are not premultiplied,
   * so a line's anti-aliased edge keeps its colour and only loses alpha.
   */
  rowsWithColor(selector: string, x0: number, x1: number, color: string, tolerance?: number): number[];
  /** Distinct colours in a canvas (RGB as '#rrggbb'), for theme checks on uPlot charts. */
  colorsIn(selector: string): string[];
  /** Every string drawn with fillText on the canvases inside `selector`. */
  textsDrawn(selector: string): string[];
  /** Content-Security-Policy violations and uncaught errors seen by the page. */
  cspViolations(): string[];
  errors(): string[];
  /** Set a range input's value and fire `input`, as dragging it does. */
  setRange(selector: string, value: number): void;
  /** A synthetic run of `perStudent` steps for each of the KD student and the baseline, posted as one snapshot. */
  scaleSnapshot(perStudent: number, stepsPerEpoch: number): Promise<{ generateMs: number; deliverAndDrawMs: number }>;
  /** Stream deltas (both students) every 50 ms for `durationMs`, measuring frames meanwhile. */
  scaleStream(durationMs: number, stepsPerDelta: number): Promise<FrameStats & { deltas: number; steps: number }>;
  /** Zoom the step charts with wheel events, timing each synchronous redraw of the group. */
  scaleZoom(times: number): { meanMs: number; maxMs: number; pointsDrawn: number };
  heap(): { usedJSHeapSize: number; totalJSHeapSize: number } | undefined;
}
