/** Whether a webview panel (a run's dashboard, a sweep's view) takes the keyboard focus when it opens. */
import * as vscode from 'vscode';

/**
 * How a panel opens. A click on a tree row opens it beside the keyboard focus, as the Explorer's single click does,
 * so the row keeps its keys (Delete, arrows); the palette and notifications focus it.
 */
export interface PanelOpening {
  preserveFocus?: boolean;
}
export const OPENED_FROM_TREE_ROW: PanelOpening = { preserveFocus: true };

/** The opening a command was given, if any: a tree row passes one; a context menu passes the selection (an array). */
export const panelOpeningOf = (arg: unknown): PanelOpening =>
  typeof arg === 'object' && arg !== null && !Array.isArray(arg) && (arg as PanelOpening).preserveFocus === true ? OPENED_FROM_TREE_ROW : {};

/** Shows a panel again, or a new one, in the active column; `reveal` and `createWebviewPanel` take the focus unless told. */
export const panelShowOptions = (opening: PanelOpening) => ({ viewColumn: vscode.ViewColumn.Active, preserveFocus: opening.preserveFocus === true });
