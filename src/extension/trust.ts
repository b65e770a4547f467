/**
 * Workspace trust. The extension declares `limited` support: in Restricted Mode it still reads configs, model
 * metadata and run directories (plain JSON), but it never starts the engine, which would load models and data.
 */
import * as vscode from 'vscode';

/** True when trusted; otherwise tells the user why `action` cannot happen and how to change that. */
export function requireTrust(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  const manage = 'Manage Workspace Trust';
  void vscode.window
    .showWarningMessage(
      `Distill cannot ${action} in Restricted Mode: a run loads models and data from this workspace and executes the training engine. Trust the workspace to run experiments.`,
      manage,
    )
    .then((choice) => {
      if (choice === manage) void vscode.commands.executeCommand('workbench.trust.manage');
    });
  return false;
}
