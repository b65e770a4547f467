/**
 * The dashboard feature: opens run dashboards and brings them back after a window reload. The only state kept
 * across reloads is the webview's small `DashboardState` (which runs, which tab); the data is re-read from disk.
 */
import * as vscode from 'vscode';
import { isDashboardState, type DashboardView } from '../../shared/webviewProtocol';
import { DASHBOARD_VIEW_TYPE, DashboardPanel, dashboardTitle, webviewOptions } from './dashboardPanel';
import { panelShowOptions, type PanelOpening } from '../panelOpening';

export { DASHBOARD_VIEW_TYPE } from './dashboardPanel';

export interface DashboardController {
  /** Show one run's dashboard, revealing it if it is already open. */
  open(runDir: string, opening?: PanelOpening): void;
  /** Show several runs side by side: overlaid curves, a summary table and a config diff. */
  compare(runDirs: string[]): void;
}

/** Registers the panel serializer (pushed to `context.subscriptions`) and returns what the commands call. */
export function registerDashboard(context: vscode.ExtensionContext, log?: vscode.LogOutputChannel): DashboardController {
  const panels = new Set<DashboardPanel>();
  const forget = (p: DashboardPanel) => panels.delete(p);

  const show = (view: DashboardView, runDirs: string[], opening: PanelOpening = {}) => {
    if (!runDirs.length) return;
    const { viewColumn, preserveFocus } = panelShowOptions(opening);
    const existing = [...panels].find((p) => p.shows(view, runDirs));
    if (existing) {
      existing.panel.reveal(viewColumn, preserveFocus);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      DASHBOARD_VIEW_TYPE,
      dashboardTitle(view, runDirs),
      { viewColumn, preserveFocus },
      webviewOptions(context.extensionUri),
    );
    panels.add(new DashboardPanel(panel, context.extensionUri, view, runDirs, log, forget));
  };

  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
      async deserializeWebviewPanel(panel, state: unknown) {
        if (!isDashboardState(state)) {
          // Nothing we know how to restore (an older state version, or none): close rather than show an empty panel.
          panel.dispose();
          return;
        }
        panels.add(new DashboardPanel(panel, context.extensionUri, state.view, state.runDirs, log, forget));
      },
    }),
    { dispose: () => [...panels].forEach((p) => p.dispose()) },
  );

  return {
    open: (runDir, opening) => show('run', [runDir], opening),
    compare: (runDirs) => show('compare', runDirs),
  };
}
