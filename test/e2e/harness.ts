// Drives a real VS Code (code-server's 1.100 workbench and Node extension host) in Debian's headless Chromium,
// the way a user would: command palette, views, notifications, status bar, webviews.
//
// Every wait is bounded and says what it waited for; `close()` always kills code-server's whole process group
// (extension host and any engine child included) and the browser, and copies the logs into the artifacts folder.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';
import { ensureCodeServer, type CodeServerInstall } from '../../scripts/e2e/install-code-server';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'test-artifacts', 'e2e');
const CHROMIUM = process.env.DISTILL_E2E_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

/** Timeouts (ms). Generous because the machine has 2 shared cores; they bound a hang, they do not measure speed. */
export const TIMEOUTS = {
  serverStart: 60_000,
  workbench: 120_000,
  ui: 30_000,
  shutdown: 10_000,
  packaging: 180_000,
} as const;

/** User settings that keep dialogs, tours, update checks and network lookups out of the way of a scripted user. */
const QUIET_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.openRepositoryInParentFolders': 'never',
  'json.schemaDownload.enable': false,
  'npm.fetchOnlinePackageInfo': false,
  'typescript.disableAutomaticTypeAcquisition': true,
  'editor.accessibilitySupport': 'off',
  'terminal.integrated.enablePersistentSessions': false,
  'files.hotExit': 'off',
  'window.dialogStyle': 'custom',
};

/** Screenshots are numbered across sessions, so the files sort in the order the steps ran. */
let screenshotCount = 0;
let artifactsReset = false;

/** Empties test-artifacts/e2e/ once per test process, so what is there after a run is that run's. */
function prepareArtifacts(): void {
  if (!artifactsReset) fs.rmSync(ARTIFACTS_DIR, { recursive: true, force: true });
  artifactsReset = true;
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
}

export interface LaunchOptions {
  /** Names this session's logs in the artifacts folder (code-server-NAME.log, vscode-logs-NAME/). */
  readonly name?: string;
  /** Folder opened as the workspace. */
  readonly workspace: string;
  /** The .vsix to install; default: build and package this repository (or $DISTILL_E2E_VSIX when set). */
  readonly vsix?: string;
  /** Leave workspace trust on, to test restricted mode on purpose. Default: trust is disabled. */
  readonly workspaceTrust?: boolean;
  /** Extra user settings, merged over the quiet defaults. */
  readonly settings?: Record<string, unknown>;
  readonly viewport?: { width: number; height: number };
}

/** A tree row by its whole text (label and description) or, with `{ label }`, by its label alone. */
export type TreeItemMatch = string | RegExp | { label: string | RegExp };

/** Polls `probe` until it returns a value other than undefined; on timeout the error names what was awaited and
 *  the last state seen, which is what one needs to debug a UI test from its log. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs?: number; intervalMs?: number; lastSeen?: () => Promise<string> } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? TIMEOUTS.ui;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await delay(options.intervalMs ?? 250);
  }
  const seen = options.lastSeen ? await options.lastSeen().catch((err: unknown) => `(could not read: ${String(err)})`) : '';
  const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
  throw new Error(`Timed out after ${timeoutMs / 1000} s waiting for ${what}${seen ? `; last seen: ${seen}` : ''}${cause}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function run(command: string, args: readonly string[], options: { cwd?: string; timeoutMs: number; what: string }): string {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    encoding: 'utf8',
    timeout: options.timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 32 * 1024 * 1024,
  });
  if (result.status !== 0) {
    const why = result.error ? result.error.message : `exit ${result.status ?? result.signal}`;
    throw new Error(`${options.what} failed (${why}):\n${(result.stdout + result.stderr).trim().split('\n').slice(-40).join('\n')}`);
  }
  return result.stdout;
}

let packagedVsix: string | undefined;

/** The .vsix of this repository, built and packaged once per test process into the artifacts folder. */
export function packagedExtension(): string {
  packagedVsix ??= packageExtension(ARTIFACTS_DIR);
  return packagedVsix;
}

/** Builds the bundles and packages this repository into a .vsix in `outDir`; returns its path. */
export function packageExtension(outDir: string): string {
  fs.mkdirSync(outDir, { recursive: true });
  const vsix = path.join(outDir, 'distill.vsix');
  log('building bundles (npm run build)');
  run('npm', ['run', 'build'], { timeoutMs: TIMEOUTS.packaging, what: 'npm run build' });
  log('packaging the extension (vsce package --no-dependencies)');
  // Bundles carry their dependencies, so the .vsix needs no node_modules. The two flags only stop vsce from asking.
  run('npx', ['@vscode/vsce', 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', vsix], {
    timeoutMs: TIMEOUTS.packaging,
    what: 'vsce package',
  });
  return vsix;
}

const started = Date.now();

/** Progress on stderr, stamped with seconds since the test process started (the e2e has a time budget). */
function log(message: string): void {
  process.stderr.write(`[e2e +${Math.round((Date.now() - started) / 1000)}s] ${message}\n`);
}

/** The extension's identifier as VS Code knows it, from the manifest. */
export function extensionId(): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string };
  return `${manifest.publisher}.${manifest.name}`.toLowerCase();
}

/** One running code-server with one browser page on it. Create with `VSCodeSession.launch`, end with `close`. */
export class VSCodeSession {
  private closed = false;

  private constructor(
    readonly name: string,
    readonly page: Page,
    private readonly browser: Browser,
    private readonly server: ChildProcess,
    readonly port: number,
    readonly workspace: string,
    /** Temp folder holding user-data/, extensions/ and the server config; removed by close(). */
    private readonly scratch: string,
    private readonly codeServer: CodeServerInstall,
    readonly consoleErrors: string[],
    /** Kills the server if the test process exits without close(); set up by launch() as soon as it spawns. */
    private readonly exitGuard: () => void,
  ) {}

  get userDataDir(): string {
    return path.join(this.scratch, 'user-data');
  }

  get extensionsDir(): string {
    return path.join(this.scratch, 'extensions');
  }

  static async launch(options: LaunchOptions): Promise<VSCodeSession> {
    prepareArtifacts();
    const name = options.name ?? 'main';
    const codeServer = await ensureCodeServer();
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-e2e-'));
    try {
      return await VSCodeSession.start(name, options, codeServer, scratch);
    } catch (err) {
      fs.rmSync(scratch, { recursive: true, force: true });
      throw err;
    }
  }

  private static async start(name: string, options: LaunchOptions, codeServer: CodeServerInstall, scratch: string): Promise<VSCodeSession> {
    const userDataDir = path.join(scratch, 'user-data');
    const extensionsDir = path.join(scratch, 'extensions');
    // Our own config file, so code-server neither reads nor writes ~/.config/code-server/config.yaml.
    const configFile = path.join(scratch, 'config.yaml');
    fs.writeFileSync(configFile, 'auth: none\ncert: false\n');
    const settingsFile = path.join(userDataDir, 'User', 'settings.json');
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    const settings = {
      ...QUIET_SETTINGS,
      'security.workspace.trust.enabled': options.workspaceTrust ?? false,
      ...options.settings,
    };
    fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));

    const common = ['--config', configFile, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
    const vsix = options.vsix ?? process.env.DISTILL_E2E_VSIX ?? packagedExtension();
    log(`installing ${vsix}`);
    // A plain folder copy into --extensions-dir is not picked up; the CLI install registers it in extensions.json.
    run(process.execPath, [codeServer.entry, ...common, '--install-extension', vsix, '--force'], {
      timeoutMs: TIMEOUTS.ui,
      what: `code-server --install-extension ${vsix}`,
    });
    const installed = listExtensions(codeServer, common);
    if (!installed.includes(extensionId())) {
      throw new Error(`${extensionId()} is not among the installed extensions after --install-extension: [${installed.join(', ')}]`);
    }

    const port = await freePort();
    const serverLog = path.join(ARTIFACTS_DIR, `code-server-${name}.log`);
    const serverOut = fs.openSync(serverLog, 'w');
    const serverArgs = [
      codeServer.entry,
      ...common,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
      '--ignore-last-opened',
    ];
    log(`starting code-server ${codeServer.version} on 127.0.0.1:${port} (log: ${serverLog})`);
    // Own process group, so close() can end the extension host and the engine children with one signal.
    const server = spawn(process.execPath, serverArgs, { detached: true, stdio: ['ignore', serverOut, serverOut] });
    fs.closeSync(serverOut);
    const exitGuard = (): void => killGroup(server, 'SIGKILL');
    process.on('exit', exitGuard);
    let browser: Browser | undefined;
    let page: Page | undefined;
    try {
      await waitForServer(server, port, serverLog);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: TIMEOUTS.serverStart });
      const context = await browser.newContext({ viewport: options.viewport ?? { width: 1440, height: 900 } });
      // Bounds every Playwright call that waits (textContent, click, …) even where no timeout is passed.
      context.setDefaultTimeout(TIMEOUTS.ui);
      page = await context.newPage();
      const consoleErrors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
      const session = new VSCodeSession(name, page, browser, server, port, options.workspace, scratch, codeServer, consoleErrors, exitGuard);
      const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(options.workspace)}`;
      log(`opening ${url}`);
      await page.goto(url, { waitUntil: 'domcontentloaded', timeout: TIMEOUTS.workbench });
      await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: TIMEOUTS.workbench });
      await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout: TIMEOUTS.workbench });
      log('workbench is up');
      return session;
    } catch (err) {
      await page?.screenshot({ path: path.join(ARTIFACTS_DIR, `FAILED-launch-${name}.png`), timeout: TIMEOUTS.ui }).catch(() => undefined);
      await browser?.close().catch(() => undefined);
      killGroup(server, 'SIGKILL');
      process.off('exit', exitGuard);
      throw err;
    }
  }

  /** Lists the extensions code-server has in this session's --extensions-dir, as `publisher.name` (lower case). */
  listExtensions(): string[] {
    return listExtensions(this.codeServer, ['--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir]);
  }

  // ─── Command palette ───────────────────────────────────────────────────────────────────────────────────────────

  private get quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  private quickInputRows(): Locator {
    return this.quickInput.locator('.quick-input-list .monaco-list-row');
  }

  /** Opens the palette with Ctrl+Shift+P and types `text` after the `>`; returns the visible command labels. */
  async searchCommands(text: string): Promise<string[]> {
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('Control+Shift+P');
    const input = this.quickInput.locator('input.input');
    // A focused webview (a dashboard opened from another webview in the step before) can keep the keys from the
    // workbench. Then open the palette with the mouse, as a user would: the title bar's command center opens Quick
    // Open, and the ">" typed below turns it into the command palette.
    if (
      !(await input.waitFor({ state: 'visible', timeout: 3000 }).then(
        () => true,
        () => false,
      ))
    ) {
      process.stderr.write('[e2e] Ctrl+Shift+P did not open the palette (a webview has the keys): opening it from the command center\n');
      await this.page.locator('.command-center .command-center-center').first().click({ timeout: TIMEOUTS.ui });
    }
    // Briefly: a palette that closed again (a webview finishing its load takes the focus) is asked for anew by the
    // caller's retry, which a long wait here would use up.
    await input.waitFor({ state: 'visible', timeout: 5000 });
    await input.fill(`>${text}`);
    // The list filters asynchronously (and adds "similar commands" rows), so wait until it stops changing.
    let previous: string | undefined;
    return waitFor(
      `the command palette to settle on "${text}"`,
      async () => {
        const labels = await this.quickInputLabels();
        const current = labels.join('\n');
        const settled = current === previous && (await input.inputValue()) === `>${text}`;
        previous = current;
        return settled ? labels : undefined;
      },
      { intervalMs: 300 },
    );
  }

  private async quickInputLabels(): Promise<string[]> {
    const labels = await this.quickInputRows().locator('.label-name').allTextContents();
    return labels.map((label) => label.trim());
  }

  /** Runs a command by its palette title, e.g. "Distill: Start Run", choosing the row whose label is exactly it. */
  async runCommand(title: string): Promise<void> {
    const row = this.quickInputRows()
      .filter({ has: this.page.locator('.label-name', { hasText: exactText(title) }) })
      .first();
    // The palette filters the commands known when its text was typed: one opened while the extension's contributions
    // are still being registered (a busy machine, right after the workbench came up) never lists the command, so it
    // is searched again until it does.
    await waitFor(
      `command "${title}" in the palette`,
      async () => {
        await this.searchCommands(title);
        return (await row.count()) > 0 ? true : undefined;
      },
      { intervalMs: 1000, lastSeen: async () => `palette rows [${(await this.quickInputLabels()).join(' | ')}]` },
    );
    await row.click({ timeout: TIMEOUTS.ui });
    await this.quickInput.waitFor({ state: 'hidden', timeout: TIMEOUTS.ui }).catch(() => undefined);
  }

  /**
   * Runs a command whose first question is a quick pick, and answers `text` there. When the palette closes, VS Code
   * gives the focus back to where it was, and a webview (the compare dashboard a step before) takes it late enough
   * to close the quick pick the command had just opened (seen in the export step and in the GPU step after the
   * Sweep view's trial dashboard: the palette opened, and the command's pick closed at once). So the focus first goes to
   * the workbench, as a user's click beside the webview would move it; and a quick pick that closed all the same is
   * asked for again: cancelled, such a command ends without doing anything.
   */
  async runCommandAndPick(title: string, text: string): Promise<void> {
    await waitFor(
      `"${title}" to take "${text}" in its quick pick`,
      async () => {
        // The side bar's title bar: in the workbench, and a click there does nothing else (a hidden side bar: no click).
        await this.page
          .locator('.part.sidebar .composite.title')
          .first()
          .click({ timeout: 2000 })
          .catch(() => undefined);
        await this.runCommand(title);
        try {
          await this.acceptQuickItemTyped(text, 5000);
          return true;
        } catch (e) {
          process.stderr.write(
            `[e2e] the quick pick of "${title}" closed before "${text}" was typed (${String((e as Error)?.message ?? e).split('\n')[0]}): running it again\n`,
          );
          await this.page.keyboard.press('Escape');
          return undefined;
        }
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  }

  /** Waits for a quick pick (opened by a command) to offer `label`, and picks it. */
  async pickQuickItem(label: string | RegExp): Promise<void> {
    const row = this.quickInputRows().filter({ hasText: label }).first();
    await waitFor(`quick pick item ${String(label)}`, async () => ((await row.count()) > 0 ? true : undefined), {
      lastSeen: async () => `quick pick rows [${(await this.quickInputLabels()).join(' | ')}]`,
    });
    await row.click({ timeout: TIMEOUTS.ui });
  }

  /** Types `text` into the open quick pick and accepts its first match with Enter (no pointer: a hover can cover rows). */
  async acceptQuickItemTyped(text: string, timeoutMs: number = TIMEOUTS.ui): Promise<void> {
    const input = this.quickInput.locator('input.input');
    await input.waitFor({ state: 'visible', timeout: timeoutMs });
    await input.fill(text, { timeout: timeoutMs });
    await waitFor(`quick pick item matching ${text}`, async () => ((await this.quickInputRows().count()) === 1 ? true : undefined), {
      lastSeen: async () => `quick pick rows [${(await this.quickInputLabels()).join(' | ')}]`,
    });
    await input.press('Enter');
  }

  /**
   * Answers a folder dialog (showOpenDialog): in a remote window such as code-server's it is VS Code's own simple
   * file dialog, a quick input holding a path. Types `folder`, then presses its OK button (`okLabel`), as a user does.
   */
  async answerFolderDialog(folder: string, okLabel: string): Promise<void> {
    const input = this.quickInput.locator('input.input');
    await input.waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
    const typed = folder.endsWith(path.sep) ? folder : folder + path.sep;
    await input.fill(typed);
    // The dialog lists the folder's entries once it has read it; accepting before that would use the old folder.
    // It also writes its starting folder into the box once it has resolved it, which can land after our fill and
    // prefix it ("/ws//ws/"): then the path is typed again, as a user would retype it.
    await waitFor(
      `the file dialog to show ${folder}`,
      async () => {
        if ((await input.inputValue()) !== typed) {
          await input.fill(typed);
          return undefined;
        }
        return (await this.quickInputRows().count()) > 0 ? true : undefined;
      },
      { lastSeen: async () => `the path box holds "${await input.inputValue()}"` },
    );
    const ok = this.quickInput.getByRole('button', { name: okLabel });
    if (await ok.isVisible().catch(() => false)) await ok.click({ timeout: TIMEOUTS.ui });
    else await input.press('Enter');
    await this.quickInput.waitFor({ state: 'hidden', timeout: TIMEOUTS.ui });
  }

  // ─── Screenshots ───────────────────────────────────────────────────────────────────────────────────────────────

  /** Saves a numbered screenshot of the whole window to test-artifacts/e2e/ and returns its path. */
  async screenshot(name: string): Promise<string> {
    screenshotCount += 1;
    const file = path.join(ARTIFACTS_DIR, `${String(screenshotCount).padStart(2, '0')}-${name.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path: file, timeout: TIMEOUTS.ui });
    return file;
  }

  // ─── Views ─────────────────────────────────────────────────────────────────────────────────────────────────────

  /** The activity-bar entry of a view container, by its title (e.g. "Distill"). */
  activityBarItem(title: string): Locator {
    return this.page.locator('.part.activitybar .action-item').filter({
      has: this.page.locator(`a.action-label[aria-label^="${cssString(title)}"]`),
    });
  }

  /** Titles of the activity-bar entries, top to bottom. */
  async activityBarTitles(): Promise<string[]> {
    const labels = await this.page
      .locator('.part.activitybar .action-item a.action-label')
      .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('aria-label') ?? ''));
    return labels.filter((label) => label.length > 0);
  }

  /** Opens a view container from the activity bar (a second click would close it, so only click when closed). */
  async openViewContainer(title: string): Promise<void> {
    const item = this.activityBarItem(title);
    await waitFor(`activity-bar entry "${title}"`, async () => ((await item.count()) > 0 ? true : undefined), {
      lastSeen: async () => `activity bar [${(await this.activityBarTitles()).join(' | ')}]`,
    });
    if ((await item.getAttribute('aria-expanded')) !== 'true' && !(await item.evaluate((node) => node.classList.contains('checked')))) {
      await item.click({ timeout: TIMEOUTS.ui });
    }
    await waitFor(`side bar titled "${title}"`, async () => {
      const heading = await this.page.locator('.part.sidebar .composite.title h2').first().textContent({ timeout: 1000 });
      return heading?.trim().toLowerCase() === title.toLowerCase() ? true : undefined;
    });
  }

  /** A view pane in the side bar or panel, by its header title (e.g. "Models"). */
  viewPane(title: string): Locator {
    return this.page.locator('.pane').filter({ has: this.page.locator('.pane-header h3.title', { hasText: exactText(title) }) });
  }

  /** Expands a collapsed view pane. */
  async expandView(title: string): Promise<void> {
    const header = this.viewPane(title).locator('.pane-header').first();
    await header.waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  }

  /** Visible tree rows of a view, as "label — description" (what a user reads on each row). */
  async treeItems(viewTitle: string): Promise<string[]> {
    const rows = this.viewPane(viewTitle).locator('.monaco-list-row');
    return rows.evaluateAll((nodes) =>
      nodes.map((node) => {
        const label = node.querySelector('.label-name')?.textContent?.trim() ?? node.textContent?.trim() ?? '';
        const description = node.querySelector('.label-description')?.textContent?.trim();
        return description ? `${label} — ${description}` : label;
      }),
    );
  }

  /** One row of a view's tree: by its whole text (label and description), or by its label alone. */
  treeItem(viewTitle: string, match: TreeItemMatch): Locator {
    const rows = this.viewPane(viewTitle).locator('.monaco-list-row');
    const filtered =
      typeof match === 'object' && 'label' in match
        ? rows.filter({ has: this.page.locator('.label-name', { hasText: match.label }) })
        : rows.filter({ hasText: match });
    return filtered.first();
  }

  /** Waits for a tree row and returns it. */
  async waitForTreeItem(viewTitle: string, match: TreeItemMatch, timeoutMs: number = TIMEOUTS.ui): Promise<Locator> {
    const row = this.treeItem(viewTitle, match);
    const what = typeof match === 'object' && 'label' in match ? `a row labelled ${String(match.label)}` : `"${String(match)}"`;
    await waitFor(`${what} in the ${viewTitle} view`, async () => ((await row.count()) > 0 ? true : undefined), {
      timeoutMs,
      lastSeen: async () => `rows [${(await this.treeItems(viewTitle)).join(' | ')}]`,
    });
    return row;
  }

  /** Right-clicks a row and runs a context-menu entry by its label. */
  async contextMenu(row: Locator, entry: string): Promise<void> {
    await row.click({ button: 'right', timeout: TIMEOUTS.ui });
    const menu = this.page.locator('.monaco-menu');
    const item = menu.locator('.action-item .action-label', { hasText: exactText(entry) }).first();
    await waitFor(`context-menu entry "${entry}"`, async () => ((await item.count()) > 0 ? true : undefined), {
      lastSeen: async () => `menu [${(await menu.locator('.action-label').allTextContents()).join(' | ')}]`,
    });
    // The menu ignores a mouse-up that comes too soon after it opened (it takes it for the right-click's own), so a
    // click can be lost; it is repeated until the menu closes, which is what a real click does.
    await waitFor(
      `the context menu to run "${entry}" and close`,
      async () => {
        if ((await menu.count()) === 0 || !(await menu.first().isVisible())) return true;
        await item.click({ timeout: 2000 }).catch(() => undefined);
        return undefined;
      },
      { intervalMs: 500 },
    );
  }

  /** Waits for a modal dialog and returns what it says and offers, leaving it open (to screenshot it first). */
  async waitForDialog(timeoutMs: number = TIMEOUTS.ui): Promise<{ message: string; detail: string; buttons: string[] }> {
    const dialog = this.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: timeoutMs });
    const text = async (selector: string) =>
      (await dialog.locator(selector).count()) > 0 ? ((await dialog.locator(selector).first().textContent()) ?? '').trim() : '';
    const buttons = (await dialog.locator('.dialog-buttons .monaco-button').allTextContents()).map((button) => button.trim());
    const [message, detail] = [await text('.dialog-message-text'), await text('.dialog-message-detail')];
    // A dialog without a detail has no message-text element: VS Code writes its message into the detail one.
    return message ? { message, detail, buttons } : { message: detail, detail: '', buttons };
  }

  /** Waits for a modal dialog (e.g. the workspace-trust question) and presses one of its buttons. */
  async answerDialog(button: string | RegExp, timeoutMs: number = TIMEOUTS.workbench): Promise<string> {
    const dialog = this.page.locator('.monaco-dialog-box');
    const { message } = await this.waitForDialog(timeoutMs);
    const choice = dialog.locator('.dialog-buttons .monaco-button').filter({ hasText: button }).first();
    await waitFor(`a dialog button ${String(button)}`, async () => ((await choice.count()) > 0 ? true : undefined), {
      lastSeen: async () => `dialog "${message}" with buttons [${(await dialog.locator('.dialog-buttons .monaco-button').allTextContents()).join(' | ')}]`,
    });
    await choice.click({ timeout: TIMEOUTS.ui });
    // Answered once this dialog is gone: none is shown, or the next one (a follow-up question may open at once).
    await waitFor(`the dialog "${message}" to close`, async () => {
      if (!(await dialog.isVisible())) return true;
      return (await this.waitForDialog()).message !== message ? true : undefined;
    });
    return message;
  }

  // ─── Notifications, status bar, Problems ───────────────────────────────────────────────────────────────────────

  /** Messages of the notification toasts currently shown. */
  async notifications(): Promise<string[]> {
    const texts = await this.page.locator('.notifications-toasts .notification-list-item-message').allTextContents();
    return texts.map((text) => text.trim());
  }

  async waitForNotification(message: RegExp, timeoutMs: number = TIMEOUTS.ui): Promise<string> {
    return waitFor(`a notification matching ${message}`, async () => (await this.notifications()).find((text) => message.test(text)), {
      timeoutMs,
      lastSeen: async () => `notifications [${(await this.notifications()).join(' | ')}]`,
    });
  }

  /** The notification toast whose message matches, to click its buttons. */
  notificationToast(message: RegExp): Locator {
    return this.page.locator('.notifications-toasts .notification-list-item').filter({
      has: this.page.locator('.notification-list-item-message', { hasText: message }),
    });
  }

  /** Waits for a notification toast to finish sliding in: a screenshot taken earlier shows it faded and cut off. */
  async waitForToastShown(message: RegExp): Promise<void> {
    const settled = this.page.locator('.notifications-toasts .notification-toast.notification-fade-in-done').filter({
      has: this.page.locator('.notification-list-item-message', { hasText: message }),
    });
    await settled.first().waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
  }

  /** Closes every notification toast (the command lives in the workbench, so no UI needs to be found). */
  async clearNotifications(): Promise<void> {
    await this.runCommand('Notifications: Clear All Notifications');
  }

  /** Texts of the status-bar items, left to right (aria-labels, which include icon-only items). */
  async statusBarItems(): Promise<string[]> {
    const items = await this.page.locator('.part.statusbar .statusbar-item').evaluateAll((nodes) =>
      nodes.map((node) => {
        const text = (node.textContent ?? '').replace(/\s+/g, ' ').trim();
        return text || node.querySelector('[aria-label]')?.getAttribute('aria-label') || '';
      }),
    );
    return items.filter((text) => text.length > 0);
  }

  async waitForStatusBarItem(text: RegExp, timeoutMs: number = TIMEOUTS.ui): Promise<string> {
    return waitFor(`a status-bar item matching ${text}`, async () => (await this.statusBarItems()).find((item) => text.test(item)), {
      timeoutMs,
      lastSeen: async () => `status bar [${(await this.statusBarItems()).join(' | ')}]`,
    });
  }

  /** Opens the Problems panel the way a user does, by clicking the errors/warnings counts in the status bar. */
  async showProblems(): Promise<void> {
    const panel = this.page.locator('.markers-panel');
    if (await panel.isVisible()) return;
    await this.page.locator('.part.statusbar #status\\.problems').click({ timeout: TIMEOUTS.ui });
    await panel.waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
  }

  /** The Problems panel's rows, as their accessible labels (they carry message, source and position). */
  async problemRows(): Promise<string[]> {
    const rows = this.page.locator('.markers-panel .monaco-list-row');
    return (await rows.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('aria-label') ?? node.textContent ?? ''))).filter(Boolean);
  }

  // ─── Editors and webviews ──────────────────────────────────────────────────────────────────────────────────────

  /** Titles of the open editor tabs. */
  async editorTabs(): Promise<string[]> {
    const tabs = await this.page.locator('.tabs-container .tab .label-name').allTextContents();
    return tabs.map((tab) => tab.trim());
  }

  /** Opens a workspace file with Quick Open (Ctrl+P). */
  async openFile(relativePath: string): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('Control+P');
    const input = this.quickInput.locator('input.input');
    await input.waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
    await input.fill(relativePath);
    await this.pickQuickItem(path.basename(relativePath));
    await waitFor(`an editor tab for ${relativePath}`, async () => ((await this.editorTabs()).includes(path.basename(relativePath)) ? true : undefined));
  }

  /** Puts the cursor of the active editor at a 1-based line and column, with "Go to Line/Column" (Ctrl+G). */
  async goToLine(line: number, column: number): Promise<void> {
    await this.page.keyboard.press('Control+G');
    const input = this.quickInput.locator('input.input');
    await input.waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
    await input.fill(`:${line}:${column}`);
    await this.page.keyboard.press('Enter');
    await this.quickInput.waitFor({ state: 'hidden', timeout: TIMEOUTS.ui });
    await waitFor(
      `the cursor at line ${line}, column ${column}`,
      async () => {
        const position = await this.statusBarItems();
        return position.some((item) => item.startsWith(`Ln ${line}, Col ${column}`)) ? true : undefined;
      },
      { lastSeen: async () => `status bar [${(await this.statusBarItems()).join(' | ')}]` },
    );
  }

  /** The content frames of the webviews shown now. VS Code nests each webview's content in an `#active-frame`
   *  iframe inside an outer `iframe.webview`; only the inner one holds the extension's HTML. */
  async webviewFrames(): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (const frame of this.page.frames()) {
      if (frame === this.page.mainFrame() || frame.isDetached()) continue;
      const element = await frame.frameElement().catch(() => undefined);
      if (element && (await element.getAttribute('id')) === 'active-frame') frames.push(frame);
      await element?.dispose();
    }
    return frames;
  }

  /** Waits for a webview whose content has an element matching `selector`, and returns that webview's frame. */
  async waitForWebview(selector: string, timeoutMs: number = TIMEOUTS.ui): Promise<Frame> {
    return waitFor(
      `a webview containing "${selector}"`,
      async () => {
        for (const frame of await this.webviewFrames()) {
          if ((await frame.locator(selector).count()) > 0) return frame;
        }
        return undefined;
      },
      { timeoutMs, lastSeen: async () => `${(await this.webviewFrames()).length} webview frame(s)` },
    );
  }

  // ─── Shutdown ──────────────────────────────────────────────────────────────────────────────────────────────────

  /** Closes the browser, ends code-server's process group, and keeps the server's logs as artifacts. Safe to call
   *  twice and after a failed test. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.consoleErrors.length > 0) fs.writeFileSync(path.join(ARTIFACTS_DIR, `browser-console-errors-${this.name}.log`), this.consoleErrors.join('\n'));
    await Promise.race([this.browser.close(), delay(TIMEOUTS.shutdown)]).catch(() => undefined);
    await this.stopServer();
    process.off('exit', this.exitGuard);
    const logs = path.join(this.userDataDir, 'logs');
    if (fs.existsSync(logs)) fs.cpSync(logs, path.join(ARTIFACTS_DIR, `vscode-logs-${this.name}`), { recursive: true });
    fs.rmSync(this.scratch, { recursive: true, force: true });
  }

  private async stopServer(): Promise<void> {
    if (this.server.exitCode !== null || this.server.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.server.once('exit', () => resolve()));
    this.killServer('SIGTERM');
    const graceful = await Promise.race([exited.then(() => true), delay(TIMEOUTS.shutdown).then(() => false)]);
    if (!graceful) {
      this.killServer('SIGKILL');
      await Promise.race([exited, delay(TIMEOUTS.shutdown)]);
    }
  }

  private killServer(signal: NodeJS.Signals): void {
    killGroup(this.server, signal);
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

function listExtensions(codeServer: CodeServerInstall, dirs: readonly string[]): string[] {
  const out = run(process.execPath, [codeServer.entry, ...dirs, '--list-extensions'], { timeoutMs: TIMEOUTS.ui, what: 'code-server --list-extensions' });
  return out
    .split('\n')
    .map((line) => line.trim().toLowerCase())
    .filter((line) => /^[\w-]+\.[\w-]+$/.test(line));
}

async function waitForServer(server: ChildProcess, port: number, serverLog: string): Promise<void> {
  await waitFor(
    `code-server to answer on http://127.0.0.1:${port}/healthz`,
    async () => {
      if (server.exitCode !== null) {
        throw new Error(`code-server exited with ${server.exitCode}:\n${fs.readFileSync(serverLog, 'utf8').slice(-3000)}`);
      }
      const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      return response?.ok ? true : undefined;
    },
    { timeoutMs: TIMEOUTS.serverStart, lastSeen: async () => fs.readFileSync(serverLog, 'utf8').slice(-1000) },
  );
}

/** Matches `text` as the whole (trimmed) content of an element. */
function exactText(text: string): RegExp {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

function cssString(text: string): string {
  return text.replace(/["\\]/g, '\\$&');
}
