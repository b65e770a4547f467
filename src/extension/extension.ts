import type * as vscode from 'vscode';

/** Composition root; the real contributions arrive with the extension issue. */
export function activate(_context: vscode.ExtensionContext): void {}

export function deactivate(): void {}
