/**
 * Messages between the extension host and the Sweep view (the dashboard webview showing one sweep directory), one
 * discriminated union per direction, in the style of webviewProtocol.ts.
 *
 * The conversation: the webview loads and posts `ready`; the host answers with a `sweep` message holding everything
 * the view shows, read from the sweep directory (sweep.json, results.jsonl, the trials' status.json); after that it
 * posts `sweep` again whenever one of those files changes (a trial started, made progress or finished). A sweep is
 * small (one row per trial), so each message is the whole state rather than a delta. A hidden view is destroyed and
 * posts `ready` again when shown.
 *
 * No node, no vscode, no DOM: the host and the webview both import this file.
 */

/** Where a trial stands: in results.jsonl (`completed`, `failed`), else its run's status.json, else `pending`. */
export type SweepTrialStatus = 'pending' | 'running' | 'completed' | 'failed' | 'stopped' | 'interrupted';

export type SweepRunStatus = 'running' | 'completed' | 'stopped' | 'failed' | 'interrupted';

/**
 * One axis of the sweep: the values of a grid axis (or a `choice`), in the sweep file's order, or the range a random
 * axis is drawn from.
 */
export type SweepAxis =
  { path: string; kind: 'values'; values: unknown[] } | { path: string; kind: 'range'; min: number; max: number; log: boolean; integer: boolean };

export interface SweepTrialRow {
  id: string;
  kind: 'trial' | 'baseline';
  /** Index of the trial's point; −1 for a scratch baseline. */
  point: number;
  repeat: number;
  seed: number;
  /** The axis values of this trial (a baseline has only the axes its training depends on). */
  params: Record<string, unknown>;
  /** Absolute path of the trial's run directory. */
  runDir: string;
  status: SweepTrialStatus;
  /** The objective's value, for a completed trial. */
  objective?: number;
  /** The id of the scratch baseline this trial is compared with. */
  baseline?: string;
  reason?: string;
  host?: string;
  /** Wall-clock seconds of a completed trial (its summary's `seconds`). */
  seconds?: number;
  /** 0–1 while running, from its status.json (epochs done of the total). */
  progress?: number;
}

/** Everything the Sweep view shows. */
export interface SweepData {
  /** Absolute path of the sweep directory; the id of the sweep in this protocol. */
  sweepDir: string;
  sweepId: string;
  name: string;
  status: SweepRunStatus;
  reason?: string;
  objective: { metric: string; goal: 'max' | 'min' };
  axes: SweepAxis[];
  repeats: number;
  /** `local (2 processes)` or the Redis URL. */
  executor: string;
  createdAt: string;
  updatedAt: string;
  trials: SweepTrialRow[];
}

/** Sweep files the webview may ask the host to open in an editor. */
export const OPENABLE_SWEEP_FILES = ['sweep', 'results', 'best'] as const;
export type OpenableSweepFile = (typeof OPENABLE_SWEEP_FILES)[number];

// ---------------------------------------------------------------- webview → host

export type SweepViewToHost =
  /** The webview's script has started and listens; the host answers with a `sweep` message. */
  | { type: 'ready' }
  /** Open a trial's (or baseline's) run dashboard, by trial id. */
  | { type: 'openTrial'; trial: string }
  /** Open one of the sweep's files in an editor. */
  | { type: 'openFile'; file: OpenableSweepFile }
  /** The webview failed to render something; the host logs it. */
  | { type: 'error'; message: string };

// ---------------------------------------------------------------- host → webview

export type HostToSweepView =
  /** The whole sweep as it is on disk now; `data` is undefined when the folder has no (readable) sweep.json. */
  { type: 'sweep'; data: SweepData | undefined };

// ---------------------------------------------------------------- persisted webview state

export const SWEEP_VIEW_STATE_VERSION = 1;

/** Columns of the trials table that can be sorted; any other key is an axis path. */
export type SweepSortKey = 'id' | 'status' | 'seed' | 'objective' | 'delta' | 'seconds' | `axis:${string}`;

export interface SweepUiState {
  /** The heatmap's axes (paths); undefined picks the first two. `y` null: one row. */
  x?: string;
  y?: string | null;
  sort: { key: SweepSortKey; descending: boolean };
}

/** What the Sweep view keeps with `setState` and its panel serializer gets back after a window reload. */
export interface SweepViewState {
  version: typeof SWEEP_VIEW_STATE_VERSION;
  view: 'sweep';
  sweepDir: string;
  ui: SweepUiState;
}

export function isSweepViewState(value: unknown): value is SweepViewState {
  const s = value as Partial<SweepViewState> | undefined;
  return (
    !!s &&
    s.version === SWEEP_VIEW_STATE_VERSION &&
    s.view === 'sweep' &&
    typeof s.sweepDir === 'string' &&
    s.sweepDir.length > 0 &&
    !!s.ui &&
    typeof s.ui === 'object'
  );
}
