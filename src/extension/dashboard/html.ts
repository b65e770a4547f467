/**
 * The dashboard page. Pure (no vscode), so the browser tests load exactly the page VS Code shows, under the same
 * Content-Security-Policy: nothing but our nonce'd bundle runs, styles and images come only from the extension's
 * own resource roots, and there is nowhere to send data (no connect-src).
 */
import { randomBytes } from 'node:crypto';

export interface DashboardPageParts {
  /** `webview.cspSource`: the origin the webview serves `localResourceRoots` from. */
  cspSource: string;
  nonce: string;
  /** URIs (as strings) of `dist/webview.js` and `dist/webview.css`, as the webview can load them. */
  scriptUri: string;
  styleUri: string;
  title: string;
  /** Which view the bundle shows: a run dashboard (default) or the Sweep view of a sweep folder. */
  app?: 'dashboard' | 'sweep';
}

export const newNonce = (): string =>
  randomBytes(18)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '');

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return ["default-src 'none'", `img-src ${cspSource} data:`, `style-src ${cspSource}`, `font-src ${cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
}

export function dashboardHtml(p: DashboardPageParts): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(p.cspSource, p.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(p.styleUri)}">
<title>${escapeHtml(p.title)}</title>
</head>
<body>
<div id="app" aria-live="polite"${p.app === 'sweep' ? ' data-app="sweep"' : ''}><p class="placeholder">Reading the ${p.app === 'sweep' ? 'sweep' : 'run'}…</p></div>
<script nonce="${escapeHtml(p.nonce)}" src="${escapeHtml(p.scriptUri)}"></script>
</body>
</html>
`;
}
