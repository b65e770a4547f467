/**
 * Messages between the extension host and the dashboard webview, one discriminated union per direction.
 *
 * The conversation: the webview loads and posts `ready`; the host answers with a `snapshot` read from the run
 * directories (disk is the source of truth); after that the host streams `delta` messages, batched to at most about
 * 20 posts a second. A hidden dashboard is destroyed (no `retainContextWhenHidden`), so when it is shown again it
 * posts `ready` again and gets a fresh snapshot: nothing is lost if it was hidden or opened late.
 *
 * When the webview asks for something it posts a `request` with an id; the host answers with a `reply` carrying the
 * same id. Step records travel as typed-array columns: VS Code (≥ 1.57) transfers typed arrays without JSON, so a
 * run of a million steps is a few tens of MB rather than hundreds.
 *
 * No node, no vscode, no DOM: the host and the webview both import this file.
 */
import type { DistillConfig } from './config';
import type { EpochRecord, ProbeInfo, RunStatus, SoftLabelRecord, StatusFile, StepRecord, StudentKind, Summary, TrainedRole } from './records';

/** The per-step values the dashboard plots, in `StepRecord` field names. */
export const STEP_METRICS = ['loss', 'kd', 'kdUnscaled', 'ce', 'accuracy', 'temperature', 'alpha', 'lr', 'tckd', 'nckd', 'feature'] as const;
export type StepMetric = (typeof STEP_METRICS)[number] & keyof StepRecord;

/**
 * One student's step records as columns of equal length. `globalStep` counts that student's steps from 1 across
 * epochs (a record's own `step` restarts each epoch). A missing optional value (`accuracy`) is NaN.
 */
export type StepColumns = {
  student: TrainedRole;
  globalStep: Float64Array;
  epoch: Float32Array;
} & { [M in StepMetric]: Float32Array };

/** Everything the dashboard shows of one run, as read from its run directory. */
export interface RunData {
  runId: string;
  /** Absolute path of the run directory; the id of the run in this protocol's requests. */
  runDir: string;
  status: RunStatus;
  statusFile?: StatusFile;
  config?: DistillConfig;
  probe?: ProbeInfo;
  summary?: Summary;
  /** One entry per student that has step records, in the order they first appear. */
  steps: StepColumns[];
  epochs: EpochRecord[];
  softLabels: SoftLabelRecord[];
  /** Lines of `metrics.jsonl` / `softlabels.jsonl` that could not be parsed (a torn last line is not counted). */
  skippedLines: number;
}

/**
 * What changed in one run since the last snapshot or delta. Records are appended; the other fields replace what the
 * webview had. `reset` replaces the whole run: the engine rewrote its files (resume drops records past a checkpoint).
 */
export interface RunDelta {
  runDir: string;
  reset?: RunData;
  steps?: StepColumns[];
  epochs?: EpochRecord[];
  softLabels?: SoftLabelRecord[];
  status?: RunStatus;
  statusFile?: StatusFile;
  config?: DistillConfig;
  probe?: ProbeInfo;
  summary?: Summary;
}

/** What the dashboard shows first: one run's panels, or the comparison of several runs. */
export type DashboardView = 'run' | 'compare';

/** A run the user could add to a comparison. */
export interface RunListing {
  runDir: string;
  runId: string;
  status: RunStatus;
  name?: string;
  startedAt?: string;
}

/** Requests the webview makes, with the result each one's reply carries. */
export interface WebviewRequests {
  /** Runs in the same runs folder as the dashboard's first run, newest first. */
  listRuns: { params: Record<string, never>; result: RunListing[] };
  /** Add a run (one that `listRuns` returned) to this dashboard; the host tails it from now on. */
  addRun: { params: { runDir: string }; result: RunData };
  /** Stop showing and tailing a run (not the first one). */
  removeRun: { params: { runDir: string }; result: null };
}
export type WebviewRequestMethod = keyof WebviewRequests;
export type WebviewRequest = { [M in WebviewRequestMethod]: { method: M; params: WebviewRequests[M]['params'] } }[WebviewRequestMethod];

/** Run files the webview may ask the host to open in an editor. */
export const OPENABLE_RUN_FILES = ['config', 'summary', 'metrics', 'status'] as const;
export type OpenableRunFile = (typeof OPENABLE_RUN_FILES)[number];

// ---------------------------------------------------------------- webview → host

export type WebviewToHost =
  /** The webview's script has started and listens; the host answers with a `snapshot`. Sent again after every reload. */
  | { type: 'ready' }
  /** Ask the host for something; the host answers with a `reply` of the same `id`. */
  | ({ type: 'request'; id: number } & WebviewRequest)
  /** Open one of a shown run's files in an editor. */
  | { type: 'openFile'; runDir: string; file: OpenableRunFile }
  /** The webview failed to render something; the host logs it. */
  | { type: 'error'; message: string };

// ---------------------------------------------------------------- host → webview

export type HostToWebview =
  /** The full state of every run shown, read from disk; replaces whatever the webview had. */
  | { type: 'snapshot'; view: DashboardView; runs: RunData[] }
  /** Changes since the last message, at most one per run per batch, batched to ≤ ~20 posts/s. */
  | { type: 'delta'; deltas: RunDelta[] }
  /** The answer to the `request` with this `id`. */
  | { type: 'reply'; id: number; ok: true; result: WebviewRequests[WebviewRequestMethod]['result'] }
  | { type: 'reply'; id: number; ok: false; error: string };

// ---------------------------------------------------------------- persisted webview state

export const DASHBOARD_STATE_VERSION = 1;

export type DashboardTab = 'curves' | 'softLabels' | 'confusion' | 'report' | 'compression' | 'compare';

/** UI selections, restored after a reload. Data is never stored here: it is re-read from disk. */
export interface DashboardUiState {
  tab: DashboardTab;
  /** EMA weight for per-step curves, 0 (off) to 0.99. */
  smoothing: number;
  logScale: boolean;
  student: StudentKind;
  /** Softening temperature of the heatmaps; undefined follows the run's configured T. */
  temperature?: number;
  /** Which teacher of a list the heatmaps show, by its index in the list; undefined shows the ensemble. */
  teacher?: number;
  /** Epoch shown by the heatmaps; undefined follows the latest. */
  epoch?: number;
  /** Probe row whose distributions are shown as bars. */
  row: number;
}

/**
 * What the webview keeps with `setState` and the `WebviewPanelSerializer` gets back after a window reload:
 * which runs to show (the host re-reads them) and the UI selections.
 */
export interface DashboardState {
  version: typeof DASHBOARD_STATE_VERSION;
  view: DashboardView;
  runDirs: string[];
  ui: DashboardUiState;
}

export const defaultUiState = (view: DashboardView): DashboardUiState => ({
  tab: view === 'compare' ? 'compare' : 'curves',
  smoothing: 0.6,
  logScale: false,
  student: 'kd',
  row: 0,
});

/** A restored state is only trusted in its known shape; anything else starts the dashboard afresh. */
export function isDashboardState(value: unknown): value is DashboardState {
  const s = value as Partial<DashboardState> | undefined;
  return (
    !!s &&
    s.version === DASHBOARD_STATE_VERSION &&
    (s.view === 'run' || s.view === 'compare') &&
    Array.isArray(s.runDirs) &&
    s.runDirs.length > 0 &&
    s.runDirs.every((d) => typeof d === 'string' && d.length > 0) &&
    !!s.ui &&
    typeof s.ui === 'object'
  );
}
