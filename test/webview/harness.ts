/**
 * Drives the dashboard in Debian's chromium: serves the exact page the extension builds (dashboardHtml, with its
 * CSP) and the built bundle from 127.0.0.1, injects the test page script (page/inspect.ts, bundled here), and
 * offers typed calls into it.
 */
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { dashboardHtml, newNonce } from '../../src/extension/dashboard/html';
import type { PageTestApi, ThemeName } from './page/api';

export const ROOT = path.resolve(__dirname, '..', '..');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'webview');
const CHROMIUM = '/usr/bin/chromium';

/** The bundle under test is the one `npm run build` made; refuse a stale one rather than test old code. */
export function assertFreshBundle(): void {
  const bundle = path.join(ROOT, 'dist', 'webview.js');
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run \`npm run build\` first (npm test does).`);
  const built = fs.statSync(bundle).mtimeMs;
  const newest = (dir: string): number =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .reduce((m, e) => Math.max(m, e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs), 0);
  const sources = Math.max(
    newest(path.join(ROOT, 'src', 'webview')),
    newest(path.join(ROOT, 'media')),
    fs.statSync(path.join(ROOT, 'src', 'shared', 'webviewProtocol.ts')).mtimeMs,
  );
  if (sources > built) throw new Error(`dist/webview.js is older than src/webview or media/: run \`npm run build\` first (npm test does).`);
}

/** page/inspect.ts as one script, built for the browser. */
function inspectScript(): string {
  const out = esbuild.buildSync({
    entryPoints: [path.join(__dirname, 'page', 'inspect.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

export interface DashboardHarness {
  origin: string;
  context: BrowserContext;
  /** Open the dashboard page; resolves once the webview has posted `ready`. */
  open(options?: { theme?: ThemeName; state?: unknown; width?: number; height?: number; app?: 'sweep' }): Promise<Page>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<DashboardHarness> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`The webview tests drive Debian's chromium at ${CHROMIUM}, which is missing: install it with \`apt-get install chromium\`.`);
  assertFreshBundle();
  const files: Record<string, [string, string]> = {
    '/dist/webview.js': [path.join(ROOT, 'dist', 'webview.js'), 'text/javascript'],
    '/dist/webview.css': [path.join(ROOT, 'dist', 'webview.css'), 'text/css'],
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/') {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      const app = url.searchParams.get('app') === 'sweep' ? 'sweep' : undefined;
      res.end(
        dashboardHtml({
          cspSource: origin,
          nonce: newNonce(),
          scriptUri: `${origin}/dist/webview.js`,
          styleUri: `${origin}/dist/webview.css`,
          title: 'Distill dashboard (test)',
          app,
        }),
      );
      return;
    }
    const file = files[url.pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file[1] });
    fs.createReadStream(file[0]).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--enable-precise-memory-info',
    ],
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
  });
  const script = inspectScript();

  return {
    origin,
    context,
    async open(options = {}) {
      const page = await context.newPage();
      if (options.width || options.height) await page.setViewportSize({ width: options.width ?? 1280, height: options.height ?? 900 });
      await page.addInitScript(
        ([state, theme]) => {
          Object.assign(globalThis, { __initialState: state, __initialTheme: theme });
        },
        [options.state, options.theme ?? 'dark'] as const,
      );
      await page.addInitScript({ content: script });
      await page.goto(origin + (options.app ? `/?app=${options.app}` : '/'));
      await page.waitForFunction(() => (globalThis as unknown as { __test: PageTestApi }).__test.posted().length > 0);
      return page;
    },
    async close() {
      await context.close();
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

type Api = PageTestApi;

/** A typed call into the page's `__test` API. */
export async function call<K extends keyof Api>(page: Page, name: K, ...args: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>> {
  return (await page.evaluate(([n, a]) => (globalThis as unknown as { __test: Record<string, (...x: unknown[]) => unknown> }).__test[n](...a), [name, args] as [
    string,
    unknown[],
  ])) as Awaited<ReturnType<Api[K]>>;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
