// End to end, in a real VS Code: code-server's workbench in headless Chromium, with the packaged extension
// installed, driven through the UI a user sees. Run with `npm run test:e2e` (not part of `npm test`).
// Screenshots of every step land in test-artifacts/e2e/.
//
// The steps run in order against one VS Code window and build on each other (mocha's `bail` stops at the first
// failure, whose screenshot is saved as FAILED-…).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyEdits, modify, parse as parseJsonc } from 'jsonc-parser';
import type { Frame } from 'playwright-core';
import { PNG } from 'pngjs';
import type { BackendSurveyEntry } from '../../src/shared/records';
import { readRun, type RunSnapshot } from '../../src/shared/runDir';
import { fashionMnistData } from '../fixtures/fashionMnist';
import { createFashionWorkspace, writeFashionConfig, type FashionWorkspace } from './fashionWorkspace';
import { REPO_ROOT, TIMEOUTS, VSCodeSession, extensionId, waitFor } from './harness';

/** The parts of our manifest the smoke test checks against, so it follows the manifest as it grows. */
interface Manifest {
  displayName: string;
  contributes?: {
    viewsContainers?: { activitybar?: { id: string; title: string }[] };
    views?: Record<string, { id: string; name: string }[]>;
  };
}

const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;
const distillContainer = manifest.contributes?.viewsContainers?.activitybar?.find((container) => container.title === 'Distill');
const distillViews = distillContainer ? (manifest.contributes?.views?.[distillContainer.id] ?? []) : [];

/** Training waits: a run of the small experiment takes well under a minute here; these only bound a hang. */
const RUN_TIMEOUT = 240_000;
/** Run-view descriptions (src/extension/runText.ts): a completed run shows its accuracies. */
const COMPLETED_RUN = /KD \d+(\.\d)?% · teacher \d+(\.\d)?%/;

/** What the canvas API gives back that we need; the test's TypeScript has no DOM library. */
interface Canvas2D {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

/** Distinct colours in a canvas (sampled): a drawn heatmap has many, a blank or cleared one has one or two. */
async function canvasColours(frame: Frame, selector: string): Promise<number> {
  return frame.locator(selector).evaluate((node) => {
    const canvas = node as unknown as Canvas2D;
    const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data;
    if (!pixels) return 0;
    const colours = new Set<number>();
    for (let i = 0; i < pixels.length; i += 4 * 7) colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
    return colours.size;
  });
}

/** Shows a dashboard tab with a plain click, as a user does while the run streams in. */
async function showDashboardTab(frame: Frame, tab: string): Promise<void> {
  const button = frame.locator(`nav.tabs button.tab[data-tab="${tab}"]`);
  await button.click({ timeout: TIMEOUTS.ui });
  assert.equal(await button.getAttribute('aria-selected'), 'true', `the click on the dashboard's "${tab}" tab selected it`);
}

/** What a run's metrics.jsonl holds for the KD student: its finished epochs in file order, and the epoch of its
 *  last step record (past the last finished epoch when the run stopped mid-epoch). */
function kdProgress(runDir: string): { finishedEpochs: number[]; lastStepEpoch: number } {
  const records = fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { kind?: string; student?: string; epoch?: number })
    .filter((record) => record.student === 'kd');
  const finishedEpochs = records.filter((record) => record.kind === 'epoch').map((record) => record.epoch ?? -1);
  const steps = records.filter((record) => record.kind === 'step');
  return { finishedEpochs, lastStepEpoch: steps[steps.length - 1]?.epoch ?? 0 };
}

/** npm downloads about 63 MB for WebGPU, then the engine checks it loads; this only bounds a hang. */
const GPU_INSTALL_TIMEOUT = 240_000;

/** The ladder's survey (`backends --json`) of the installed extension's engine, with `optionalModules` as the
 *  setting hands it to runs: the first available rung is what `auto` picks. */
function backendSurvey(ui: VSCodeSession, optionalModules: string): BackendSurveyEntry[] {
  const installed = fs.readdirSync(ui.extensionsDir).find((entry) => entry.startsWith(`${extensionId()}-`));
  assert.ok(installed, `${extensionId()} not found in ${ui.extensionsDir}`);
  const out = execFileSync(process.execPath, [path.join(ui.extensionsDir, installed, 'dist', 'cli.js'), 'backends', '--json'], {
    cwd: ui.workspace,
    env: { ...process.env, DISTILL_OPTIONAL_MODULES: optionalModules },
    encoding: 'utf8',
    // Dawn's complaints about missing Vulkan drivers go to stderr: kept out of the test's output.
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: TIMEOUTS.ui,
  });
  const json = out
    .split('\n')
    .reverse()
    .find((line) => line.trim().startsWith('['));
  assert.ok(json, `backends --json printed no survey: ${out}`);
  return JSON.parse(json) as BackendSurveyEntry[];
}

/** The teacher and student entries of the config, as the Models view writes them. */
interface PickedModels {
  teacher?: { model?: string };
  student?: { model?: string };
}

/** The sweep the sweep step starts, written with the workspace (before VS Code opens it, so Quick Open indexes it):
 *  an inline base of a few rows and one epoch with the workspace's teacher file; T × α = [2, 4] × [0.7], one scratch
 *  baseline. */
const SWEEP_FILE = 'ta.sweep.json';
function writeSweepFile(workspace: FashionWorkspace): void {
  fs.writeFileSync(
    path.join(workspace.dir, SWEEP_FILE),
    JSON.stringify(
      {
        name: 'e2e-ta',
        base: {
          name: 'e2e-sweep-base',
          seed: 3,
          data: { ...fashionMnistData({ train: 600, test: 200 }), validationSplit: 0.1 },
          teacher: { model: workspace.teacherModel },
          student: { preset: 'mlp', hidden: [16] },
          training: { epochs: 1, batchSize: 32, learningRate: 0.003 },
          evaluation: { probeSize: 8, latency: false },
          engine: { backend: 'wasm' },
        },
        grid: { 'distillation.temperature': [2, 4], 'distillation.alpha': [0.7] },
        concurrency: 2,
      },
      null,
      2,
    ),
  );
}

describe('Distill in a real VS Code (code-server + Chromium)', function () {
  let vscode: VSCodeSession | undefined;
  let workspace: FashionWorkspace;
  let scratch: string;

  before(async function () {
    // The first run on a fresh machine installs code-server (2–3 minutes here) and packages the extension.
    this.timeout(20 * 60_000);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-e2e-workspace-'));
    // The folder name shows in the Explorer; a fixed one keeps the screenshots comparable.
    const dir = path.join(scratch, 'fashion-kd');
    fs.mkdirSync(dir);
    workspace = await createFashionWorkspace(dir);
    writeSweepFile(workspace);
    vscode = await VSCodeSession.launch({ workspace: dir });
  });

  after(async function () {
    this.timeout(2 * TIMEOUTS.shutdown + 10_000);
    await vscode?.close();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && vscode) {
      await vscode.screenshot(`FAILED-${this.currentTest.title}`).catch(() => undefined);
    }
  });

  function session(): VSCodeSession {
    if (!vscode) throw new Error('VS Code did not start (see the before-all hook error)');
    return vscode;
  }

  function readConfig(): PickedModels {
    return parseJsonc(fs.readFileSync(path.join(workspace.dir, workspace.configFile), 'utf8')) as PickedModels;
  }

  function runDirs(): string[] {
    const runs = path.join(workspace.dir, 'runs');
    return fs.existsSync(runs) ? fs.readdirSync(runs).map((name) => path.join(runs, name)) : [];
  }

  describe('smoke', function () {
    it('shows the workbench with the workspace in the Explorer', async function () {
      const ui = session();
      await ui.openViewContainer('Explorer');
      const folder = path.basename(workspace.dir);
      await ui.waitForTreeItem(folder, workspace.configFile);
      await ui.screenshot('workbench');
    });

    it('has the packaged extension installed, as the CLI and the Extensions view both show', async function () {
      const ui = session();
      assert.ok(ui.listExtensions().includes(extensionId()), `${extensionId()} missing from code-server --list-extensions`);
      // The Extensions view lists installed extensions first; the gallery part fails offline, which is fine here.
      await ui.runCommand('View: Show Extensions');
      const row = ui.page.locator('.extensions-viewlet .monaco-list-row').filter({ hasText: manifest.displayName }).first();
      await row.waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
      await ui.screenshot('installed-extensions');
    });

    it('shows the Distill container in the activity bar with its views', async function () {
      assert.ok(distillContainer, 'package.json contributes no "Distill" activity-bar container');
      const ui = session();
      await ui.openViewContainer('Distill');
      for (const view of distillViews) {
        await ui.viewPane(view.name).waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
      }
      await ui.screenshot('distill-container');
    });
  });

  describe('scenario: distill Fashion-MNIST from the UI', function () {
    this.timeout(RUN_TIMEOUT + 60_000);

    it('picks the teacher and the student from the Models view, and the config file changes', async function () {
      const ui = session();
      await ui.openViewContainer('Distill');
      await ui.waitForTreeItem('Models', /^Teacher.*preset mlp/);
      for (const [role, file] of [
        ['Teacher', workspace.teacherModel],
        ['Student', workspace.studentModel],
      ] as const) {
        // Rows name a model by its folder (models/teacher-mlp) or its model.json; match what both contain.
        const folder = path.posix.dirname(file);
        const row = await ui.waitForTreeItem('Models', { label: new RegExp(`^${folder}\\b`) });
        await ui.contextMenu(row, `Use as ${role}`);
        await ui.waitForTreeItem('Models', new RegExp(`^${role}.*${folder}\\b`));
      }
      const config = readConfig();
      const resolved = (file: string | undefined) => path.resolve(workspace.dir, file ?? '(none)');
      assert.equal(resolved(config.teacher?.model), resolved(workspace.teacherModel), 'teacher.model in the config');
      assert.equal(resolved(config.student?.model), resolved(workspace.studentModel), 'student.model in the config');
      const text = fs.readFileSync(path.join(workspace.dir, workspace.configFile), 'utf8');
      assert.match(text, /\/\/ End-to-end test experiment/, 'the edit dropped the config’s comment');
      await ui.screenshot('teacher-and-student-picked');
    });

    it('starts a run from the palette, with one progress notification for the whole run and no status-bar item of its own', async function () {
      const ui = session();
      await ui.runCommand('Distill: Start Run');
      // A model-file teacher: with no baseline the run trains one model; the bar and the ETA are the whole run's.
      const progress = await ui.waitForNotification(/KD student · epoch \d\/3 · step \d+\/\d+ · loss [\d.]+ · run \d+%/, RUN_TIMEOUT);
      assert.ok(progress);
      assert.ok(!(await ui.statusBarItems()).some((item) => /Distill KD/.test(item)), 'a second, Distill-own status-bar item is back');
      await ui.screenshot('run-progress');
    });

    it('opens the dashboard: curves of at least two epochs, the soft-label heatmap, and the temperature slider', async function () {
      const ui = session();
      await ui.runCommand('Distill: Open Dashboard');
      const dashboard = await ui.waitForWebview('nav.tabs button.tab[data-tab="softLabels"]');
      // The soft-label tab's epoch scrubber spans the epochs whose student logits have arrived.
      await showDashboardTab(dashboard, 'softLabels');
      await waitFor(
        'the dashboard to have two epochs of the KD student',
        async () => (Number(await dashboard.locator('#epoch-scrubber').getAttribute('max', { timeout: 1000 })) >= 2 ? true : undefined),
        { timeoutMs: RUN_TIMEOUT, lastSeen: async () => `epoch label "${await dashboard.locator('#epoch-label').textContent()}"` },
      );
      await showDashboardTab(dashboard, 'curves');
      await dashboard.locator('figure.chart[data-chart="epoch-accuracy"]').waitFor({ timeout: TIMEOUTS.ui });
      await dashboard.locator('figure.chart[data-chart="loss"]').waitFor({ timeout: TIMEOUTS.ui });
      await ui.screenshot('dashboard-curves');

      await showDashboardTab(dashboard, 'softLabels');
      await waitFor('the teacher heatmap to be drawn', async () => ((await canvasColours(dashboard, '#heatmap-teacher')) > 8 ? true : undefined));
      assert.ok((await canvasColours(dashboard, '#heatmap-student')) > 8, 'the student heatmap is blank');
      const runT = (await dashboard.locator('#temperature-label').textContent())?.trim();
      assert.equal(runT, 'T = 4.00', 'the slider starts at the run’s temperature');
      const entropyAt4 = Number(await dashboard.locator('#teacher-entropy').getAttribute('data-value'));
      await ui.screenshot('dashboard-heatmap');

      // A higher temperature softens the teacher's distribution: its mean entropy must rise.
      const slider = dashboard.locator('#temperature');
      await slider.fill((await slider.getAttribute('max')) ?? '100');
      const hotT = (await dashboard.locator('#temperature-label').textContent())?.trim() ?? '';
      const entropyHot = Number(await dashboard.locator('#teacher-entropy').getAttribute('data-value'));
      assert.ok(Number(hotT.replace('T = ', '')) > 4, `slider at max shows ${hotT}`);
      assert.ok(entropyHot > entropyAt4, `teacher entropy ${entropyHot} at ${hotT} is not above ${entropyAt4} at T = 4`);
      await ui.screenshot('dashboard-temperature-slider');
    });

    it('shows the finished run as completed in the Runs view', async function () {
      const ui = session();
      await ui.openViewContainer('Distill');
      await ui.waitForTreeItem('Runs', COMPLETED_RUN, RUN_TIMEOUT);
      await ui.screenshot('runs-view-completed');
    });

    it('stops a second run mid-epoch and resumes it to completion', async function () {
      this.timeout(2 * RUN_TIMEOUT);
      const ui = session();
      await ui.runCommand('Distill: Start Run');
      // Epoch 2 under way: epoch 1 has a checkpoint, so the stop is resumable.
      await ui.waitForNotification(/KD student · epoch 2\/3/, RUN_TIMEOUT);
      await ui.runCommand('Distill: Stop Run');
      await ui.waitForNotification(/stopped while training the KD student \(epoch 2 of 3, step \d+\); Resume continues from its checkpoint/, RUN_TIMEOUT);
      const stopped = await ui.waitForTreeItem('Runs', /stopped in KD student epoch 2\/3/);
      await ui.screenshot('runs-view-stopped');
      const [first] = runDirs().filter((dir) => kdProgress(dir).finishedEpochs.length === 3);
      const second = runDirs().find((dir) => dir !== first);
      assert.ok(first && second, `runs: ${runDirs().join(', ')}`);
      const atStop = kdProgress(second);
      assert.ok(atStop.lastStepEpoch > Math.max(0, ...atStop.finishedEpochs), `not stopped mid-epoch: ${JSON.stringify(atStop)}`);

      await ui.contextMenu(stopped, 'Resume Run');
      await ui.waitForNotification(/KD student · epoch [23]\/3/, RUN_TIMEOUT);
      // VS Code cannot close the "stopped" notification, so its Resume button is still there: clicked now, it says
      // what became of the run instead of trying to resume it a second time.
      const stale = ui.notificationToast(/stopped while training the KD student .*; Resume continues from its checkpoint/);
      await stale.getByRole('button', { name: 'Resume', exact: true }).click({ timeout: TIMEOUTS.ui });
      await ui.waitForNotification(/is already running again: it was resumed after it stopped|has since been resumed and completed/);
      assert.ok(!(await ui.notifications()).some((text) => /runs one experiment at a time/.test(text)), 'the stale Resume tried to start the run again');
      await waitFor(
        'both runs to show as completed',
        async () => ((await ui.treeItems('Runs')).filter((row) => COMPLETED_RUN.test(row)).length === 2 ? true : undefined),
        { timeoutMs: RUN_TIMEOUT, lastSeen: async () => `Runs view [${(await ui.treeItems('Runs')).join(' | ')}]` },
      );
      await ui.screenshot('runs-view-resumed-and-completed');
      // The resumed run continued where it stopped: every epoch once, in order.
      assert.equal(runDirs().length, 2, `runs: ${runDirs().join(', ')}`);
      assert.deepEqual(kdProgress(second).finishedEpochs, [1, 2, 3], `KD epochs in ${second}/metrics.jsonl`);
    });

    it('flags an invalid value in the Problems panel, and Start Run refuses with a clear message', async function () {
      const ui = session();
      await ui.openFile(workspace.configFile);
      // Select the 4 of `"temperature": 4` and type over it, as a user would.
      const configPath = path.join(workspace.dir, workspace.configFile);
      const lines = fs.readFileSync(configPath, 'utf8').split('\n');
      const line = lines.findIndex((text) => text.includes('"temperature": 4'));
      assert.ok(line >= 0, 'the config has no "temperature": 4 to change');
      await ui.goToLine(line + 1, lines[line].indexOf('"temperature": 4') + '"temperature": '.length + 1);
      await ui.page.keyboard.press('Shift+ArrowRight');
      await ui.page.keyboard.type('-1');
      await ui.page.keyboard.press('Control+S');
      await waitFor('the config to be saved with temperature -1', async () =>
        /"temperature": -1,/.test(fs.readFileSync(configPath, 'utf8')) ? true : undefined,
      );
      await ui.showProblems();
      const problems = await waitFor(
        'a Problems entry about the temperature',
        async () => {
          const rows = await ui.problemRows();
          return rows.some((row) => /temperature/i.test(row)) ? rows : undefined;
        },
        { lastSeen: async () => `problems [${(await ui.problemRows()).join(' | ')}]` },
      );
      assert.ok(problems.length > 0);
      await ui.screenshot('problems-panel');

      await ui.runCommand('Distill: Start Run');
      await ui.waitForNotification(/problems?, so the run did not start/);
      assert.equal(runDirs().length, 2, 'a run started from an invalid config');
      await ui.screenshot('start-run-refused');
    });
  });

  describe('Models view: an image dataset as the data', function () {
    this.timeout(3 * 60_000);

    it('lists class folders of PNGs with their test split, and "Use as Data" points the config at them', async function () {
      const ui = session();
      const configPath = path.join(workspace.dir, workspace.configFile);
      const before = fs.readFileSync(configPath, 'utf8');
      const root = path.join(workspace.dir, 'pets');
      // Two classes of 4×4 grayscale PNGs, seeded by position: train/ with 3 per class, test/ with 1.
      for (const [split, perClass] of [
        ['train', 3],
        ['test', 1],
      ] as const) {
        for (const cls of ['cat', 'dog']) {
          fs.mkdirSync(path.join(root, split, cls), { recursive: true });
          for (let i = 0; i < perClass; i++) {
            const png = new PNG({ width: 4, height: 4, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
            png.data = Buffer.from(Array.from({ length: 16 }, (_, k) => (k * 16 + i * 5) % 256));
            fs.writeFileSync(
              path.join(root, split, cls, `${i}.png`),
              PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 }),
            );
          }
        }
      }
      try {
        // The catalog's file watcher rescans once new images stop coming, but code-server's watcher can miss files
        // written in a burst; then a user refreshes, and so does the test. Refreshing only then matters: a rescan that
        // re-renders the tree while its context menu is open closes the menu before "Use as Data" runs.
        await ui.openViewContainer('Distill');
        const pets = { label: /^pets\/train\b/ };
        const row = await ui.waitForTreeItem('Models', pets, 15_000).catch(async () => {
          await ui.runCommand('Distill: Refresh Models');
          return ui.waitForTreeItem('Models', pets);
        });
        // One more settling rescan of the watcher's may still be due (it waits for the burst to end).
        await new Promise((resolve) => setTimeout(resolve, 3000));
        assert.match(await row.innerText(), /2 classes · 6 images \+ 2 in test\//);
        await ui.screenshot('models-image-dataset');
        await ui.contextMenu(row, 'Use as Data');
        const data = await waitFor('the config to name the image folders', async () => {
          const d = (parseJsonc(fs.readFileSync(configPath, 'utf8')) as { data?: Record<string, unknown> }).data;
          return d?.format === 'images' ? d : undefined;
        });
        const dirs = [data.train, data.test].map((s) => path.resolve(workspace.dir, (s as { dir: string }).dir));
        assert.deepEqual(dirs, [path.join(root, 'train'), path.join(root, 'test')]);
        assert.match(fs.readFileSync(configPath, 'utf8'), /\/\/ End-to-end test experiment/, 'the edit dropped the config’s comment');
      } finally {
        // The steps after this one read the Fashion-MNIST config as the scenario left it.
        fs.writeFileSync(configPath, before);
        fs.rmSync(root, { recursive: true, force: true });
      }
    });
  });

  // After the scenario, whose steps are done with both runs by now, and before the GPU engine step, which reads no run.
  describe('report card, compare with the run picker, export', function () {
    this.timeout(4 * 60_000);

    /** The dashboard frame showing `runId` (a dashboard tab per run; an older one may be open beside it). */
    const dashboardOf = (ui: VSCodeSession, runId: string) =>
      waitFor(`the dashboard of ${runId}`, async () => {
        for (const frame of await ui.webviewFrames()) {
          if (
            (
              await frame
                .locator('header .run-id')
                .textContent({ timeout: 1000 })
                .catch(() => undefined)
            )?.trim() === runId
          )
            return frame;
        }
        return undefined;
      });
    const completedRuns = () =>
      runDirs()
        .map((dir) => readRun(dir))
        .filter((run): run is RunSnapshot => run?.status === 'completed')
        .sort((a, b) => (a.statusFile?.startedAt ?? '').localeCompare(b.statusFile?.startedAt ?? ''));

    it('the report card says what the numbers mean: a verdict line, and sizes of every model', async function () {
      const ui = session();
      const [older] = completedRuns();
      await ui.runCommandAndPick('Distill: Open Dashboard', older.runId);
      const dashboard = await dashboardOf(ui, older.runId);
      await showDashboardTab(dashboard, 'report');
      const verdict = (await dashboard.locator('.verdict').textContent({ timeout: TIMEOUTS.ui })) ?? '';
      // This workspace's config has no scratch student, and its student (picked in the Models view) is the larger
      // MLP: the verdict says both, with the parameter counts of summary.json.
      const { teacher, student } = older.summary!;
      assert.match(verdict, /No scratch student to compare with: set compare\.baseline/, verdict);
      const counts = `${student.params!.toLocaleString('en-US')} vs ${teacher.params!.toLocaleString('en-US')} parameters`;
      if (student.params! >= teacher.params!) assert.ok(verdict.includes(`The student is not smaller than its teacher (${counts})`), verdict);
      else assert.ok(verdict.includes(`smaller than the teacher (${counts})`), verdict);
      // Sizes for every model, the model-file teacher's too.
      const sizes = await dashboard.locator('table.report tr', { hasText: 'Size on disk' }).locator('td').allTextContents();
      assert.ok(sizes.length >= 2 && sizes.every((t) => t !== '—'), `sizes on disk for every model: ${sizes.join(' | ')}`);
      await ui.screenshot('report-card-verdict');
    });

    it("Compare: the run picker lists the folder's runs with checkboxes and a filter; checking one overlays it", async function () {
      const ui = session();
      const [older, newer] = completedRuns();
      const dashboard = await dashboardOf(ui, older.runId);
      // The tab bar by keyboard (a WAI-ARIA tablist): End selects the last tab, Compare.
      await dashboard.locator('nav.tabs button.tab[aria-selected="true"]').focus();
      await dashboard.locator('nav.tabs button.tab[aria-selected="true"]').press('End');
      await dashboard.locator('nav.tabs button.tab[data-tab="compare"][aria-selected="true"]').waitFor({ timeout: TIMEOUTS.ui });
      const row = (dir: string) => dashboard.locator(`.run-row[data-run-dir="${dir}"]`);
      await row(newer.dir).waitFor({ timeout: TIMEOUTS.ui });
      assert.equal(await row(older.dir).locator('input').isChecked(), true, 'the dashboard’s own run is checked');
      assert.equal(await row(newer.dir).locator('input').isChecked(), false);
      await dashboard.locator('#run-filter').fill(newer.runId.slice(-4));
      await waitFor('the filter to leave the newer run alone', async () =>
        (await dashboard.locator('.run-row:not([hidden])').count()) === 1 ? true : undefined,
      );
      await ui.screenshot('compare-picker-filtered');
      await row(newer.dir).locator('input').check();
      // Checked rows, the one the filter hides included: the host's reply to the add has come.
      await waitFor('two runs compared', async () => ((await dashboard.locator('.run-row[data-checked="true"]').count()) === 2 ? true : undefined));
      await dashboard.locator('#run-filter').fill('');
      await dashboard.locator('[data-chart="cmp-loss"] .uplot').waitFor({ timeout: TIMEOUTS.ui });
      assert.equal(await dashboard.locator('table.compare-summary thead th').count(), 3, 'a summary column per compared run');
      await ui.screenshot('compare-two-runs');
    });

    it('exports the student as a self-describing TensorFlow.js folder and shows it in the Explorer', async function () {
      const ui = session();
      const [, newer] = completedRuns();
      await ui.runCommandAndPick('Distill: Export Student', newer.runId);
      await ui.acceptQuickItemTyped('TensorFlow.js');
      await ui.answerFolderDialog(workspace.dir, 'Export Here');
      const target = path.join(workspace.dir, `${newer.runId}-student`);
      await ui.waitForNotification(/exported the student to .*distill-model\.json/);
      for (const f of ['model.json', 'weights.bin', 'distill-model.json', 'README.md']) assert.ok(fs.existsSync(path.join(target, f)), `${f} in ${target}`);
      const described = JSON.parse(fs.readFileSync(path.join(target, 'distill-model.json'), 'utf8')) as { classNames?: string[]; inputShape?: number[] };
      assert.equal(described.classNames?.[9], 'Ankle boot');
      assert.deepEqual(described.inputShape, [28, 28, 1]);
      await ui
        .notificationToast(/exported the student/)
        .getByRole('button', { name: 'Show in Explorer' })
        .click({ timeout: TIMEOUTS.ui });
      await ui.page.locator('.explorer-folders-view .monaco-list-row.selected', { hasText: 'README.md' }).waitFor({ timeout: TIMEOUTS.ui });
      await ui.screenshot('export-shown-in-explorer');
    });
  });

  describe('Runs view: delete a run', function () {
    this.timeout(4 * 60_000);

    it('deletes a completed run from its context menu, and asks again before deleting it permanently where there is no trash', async function () {
      const ui = session();
      await ui.openViewContainer('Distill');
      const completedRows = async () => (await ui.treeItems('Runs')).filter((row) => COMPLETED_RUN.test(row)).length;
      await waitFor('both runs to show as completed', async () => ((await completedRows()) === 2 ? true : undefined), {
        lastSeen: async () => `Runs view [${(await ui.treeItems('Runs')).join(' | ')}]`,
      });
      // The oldest run, the view's last top-level row (newest first); two runs can share a label (same minute), so
      // the row is found by its accessible position and the dialog's detail says which folder it is.
      const runs = runDirs()
        .map((dir) => readRun(dir))
        .filter((run): run is RunSnapshot => !!run)
        .sort((a, b) => (a.statusFile?.startedAt ?? '').localeCompare(b.statusFile?.startedAt ?? ''));
      assert.equal(runs.length, 2, `runs: ${runDirs().join(', ')}`);
      const [target, kept] = runs;
      const targetRow = ui.viewPane('Runs').locator(`.monaco-list-row[aria-level="1"][aria-posinset="${runs.length}"]`);

      /** Right-click → Delete Run → the confirmation names the run and its folder → Delete. */
      const deleteFromMenu = async (screenshot?: string) => {
        await ui.contextMenu(targetRow, 'Delete Run');
        const question = await ui.waitForDialog();
        assert.equal(question.message, `Delete run ${target.runId}? Its metrics, checkpoints and exported student go with it.`);
        assert.equal(path.resolve(question.detail), path.resolve(target.dir), 'the confirmation names the run folder');
        assert.ok(question.buttons.includes('Delete'), `buttons [${question.buttons.join(' | ')}]`);
        if (screenshot) await ui.screenshot(screenshot);
        await ui.answerDialog(/^\s*Delete\s*$/, TIMEOUTS.ui);
      };
      const noTrash = new RegExp(`^The trash is not available here \\((.+)\\)\\. Delete ${target.runId} permanently\\? This cannot be undone\\.$`);
      const dialogTexts = async () =>
        (await ui.page.locator('.monaco-dialog-box').evaluateAll((boxes) => boxes.map((box) => (box as { innerText?: string }).innerText ?? ''))).map((text) =>
          text.replace(/\s+/g, ' ').trim(),
        );
      /** After "Delete": the folder went to the trash, or a second modal asks to delete it permanently. Which one
       *  depends on the machine (code-server's file system has no trash; a desktop VS Code's has). */
      const outcome = () =>
        waitFor(
          'the run folder to leave the runs directory, or a question about deleting it permanently',
          async () => {
            if (noTrash.test((await ui.page.locator('.monaco-dialog-box').count()) > 0 ? (await ui.waitForDialog()).message : '')) return 'asked';
            return fs.existsSync(target.dir) ? undefined : 'trashed';
          },
          {
            lastSeen: async () =>
              `run folder ${fs.existsSync(target.dir) ? 'still there' : 'gone'}; dialogs [${(await dialogTexts()).join(' | ')}]; notifications [${(await ui.notifications()).join(' | ')}]`,
          },
        );

      await deleteFromMenu('delete-run-confirm');
      if ((await outcome()) === 'asked') {
        // No trash here: cancelling the permanent delete keeps the run, on disk and in the view.
        const second = await ui.waitForDialog();
        const reason = noTrash.exec(second.message)?.[1];
        assert.ok(reason, `the second question: "${second.message}"`);
        assert.ok(second.buttons.includes('Delete Permanently'), `buttons [${second.buttons.join(' | ')}]`);
        process.stderr.write(`[e2e] Delete Run: no trash here (${reason})\n`);
        await ui.screenshot('delete-run-no-trash-question');
        await ui.answerDialog(/^\s*Cancel\s*$/, TIMEOUTS.ui);
        assert.ok(fs.existsSync(path.join(target.dir, 'metrics.jsonl')), `${target.dir} lost files after Cancel`);
        // The command refreshes the view after the cancel; its rows are read once that refresh has had time to land.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        assert.equal(await completedRows(), 2, `Runs view [${(await ui.treeItems('Runs')).join(' | ')}]`);
        assert.match((await targetRow.textContent()) ?? '', COMPLETED_RUN, 'the kept run’s row');
        await ui.screenshot('delete-run-cancelled-run-kept');

        await deleteFromMenu();
        const again = await ui.waitForDialog();
        assert.match(again.message, noTrash);
        await ui.answerDialog(/^\s*Delete Permanently\s*$/, TIMEOUTS.ui);
        await waitFor(`${target.dir} to be deleted`, async () => (fs.existsSync(target.dir) ? undefined : true));
      }
      assert.deepEqual(runDirs(), [kept.dir], 'what is left in the runs directory');
      await waitFor('the deleted run to leave the Runs view', async () => ((await ui.treeItems('Runs')).length === 1 ? true : undefined), {
        lastSeen: async () => `Runs view [${(await ui.treeItems('Runs')).join(' | ')}]`,
      });
      assert.equal(await completedRows(), 1, 'the other run is still listed');
      await ui.screenshot('delete-run-deleted');
    });
  });

  describe('sweep: a 2 × 1 grid from Start Sweep, the heatmap filling in', function () {
    this.timeout(RUN_TIMEOUT + 60_000);

    it('starts the sweep from the command with a progress notification, and the Sweep view fills its heatmap', async function () {
      const ui = session();
      await ui.openFile(SWEEP_FILE);
      await ui.clearNotifications();
      await ui.runCommand('Distill: Start Sweep');
      await ui.waitForNotification(/Distill sweep: ta|\d of 3 trials/, RUN_TIMEOUT);
      const view = await ui.waitForWebview('table.sweep-heatmap', RUN_TIMEOUT);
      const values = () => view.locator('table.sweep-heatmap td.sweep-cell .sweep-value').allTextContents();
      await waitFor(
        'both cells of the heatmap to show an accuracy',
        async () => ((await values()).filter((v) => /^\d+\.\d\d%$/.test(v)).length === 2 ? true : undefined),
        {
          timeoutMs: RUN_TIMEOUT,
          lastSeen: async () => `cells [${(await values()).join(' | ')}]`,
        },
      );
      assert.deepEqual(await view.locator('table.sweep-heatmap thead th').allTextContents(), ['distillation.temperature →', 'distillation.alpha ↓', '2', '4']);
      // The scratch baseline finished and is in the legend; cells are coloured relative to it.
      await waitFor(
        'the scratch baseline in the legend',
        async () => (/^Scratch baseline: \d+\.\d\d%/.test((await view.locator('.sweep-baseline').textContent()) ?? '') ? true : undefined),
        { timeoutMs: RUN_TIMEOUT },
      );
      assert.equal(await view.locator('table.sweep-heatmap td.sweep-cell[data-tone]').count(), 2);
      await ui.waitForNotification(/sweep "e2e-ta" completed: 3 trials\. Best: temperature [24], alpha 0\.7: student\.accuracy \d+\.\d\d%/, RUN_TIMEOUT);
      await waitFor('the sweep to show as completed', async () =>
        (await view.locator('.sweep-header .status').textContent()) === 'completed' ? true : undefined,
      );
      assert.equal(await view.locator('tr.sweep-trial').count(), 3, 'two trials and one scratch baseline in the table');
      await ui.screenshot('sweep-view');

      // The Runs view groups the trials under the sweep, with its status and best objective.
      await ui.openViewContainer('Distill');
      const sweepRow = await ui.waitForTreeItem('Runs', /^e2e-ta.*completed · 3\/3 trials · best \d+\.\d\d%/, RUN_TIMEOUT);
      // Opening the node shows its Sweep view (already open: revealed); expanding it lists the trials' runs.
      await sweepRow.click();
      await ui.waitForWebview('table.sweep-heatmap');
      // The click moved the focus to the Sweep view; the twistie expands the node.
      await sweepRow.locator('.monaco-tl-twistie').click();
      await ui.waitForTreeItem('Runs', /p00-r0.*temperature 2, alpha 0\.7 · seed 3 · \d+\.\d\d%/);
      await ui.waitForTreeItem('Runs', /b00.*scratch · seed 3 · \d+\.\d\d%/);
      await ui.screenshot('runs-view-sweep');

      // A cell opens that trial's run dashboard.
      await view.locator('table.sweep-heatmap td.sweep-cell[data-x="1"]').click();
      // Wait for that trial's own dashboard (its run id, e.g. p01-r0), not the compare dashboard already open: a
      // webview still loading takes the focus when it is ready, which closed the next step's palette. No backslashes
      // in the pattern: the selector is a CSS string, where "\d" is an escape for a control character, not a digit.
      const trial = await ui.waitForWebview('header.run-header span.run-id:text-matches("^p[0-9]{2}-r[0-9]$")', RUN_TIMEOUT);
      await trial.locator('nav.tabs button.tab[data-tab="curves"]').waitFor({ timeout: TIMEOUTS.ui });
      await ui.screenshot('sweep-trial-dashboard');
      const results = fs
        .readFileSync(path.join(workspace.dir, 'sweeps', fs.readdirSync(path.join(workspace.dir, 'sweeps'))[0], 'results.jsonl'), 'utf8')
        .trim()
        .split('\n');
      assert.equal(results.length, 3, 'results.jsonl has one line per trial and baseline');
    });
  });

  // Last in this window on purpose: from here on the setting distill.engine.optionalModules points at a WebGPU
  // install that has no adapter on this machine, so nothing after it may assume which backend a run gets.
  describe('GPU engine: install WebGPU from the palette', function () {
    this.timeout(GPU_INSTALL_TIMEOUT + 60_000);

    it('installs WebGPU into global storage with a progress notification, warns it cannot run here, and sets the setting', async function () {
      const ui = session();
      await ui.clearNotifications();
      await ui.runCommandAndPick('Distill: Install GPU Engine', 'WebGPU');
      await ui.waitForNotification(/installing the GPU engine \(WebGPU\)/);
      const toast = ui.notificationToast(/installing the GPU engine \(WebGPU\)/);
      await toast.getByRole('button', { name: 'Cancel' }).waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
      await ui.waitForToastShown(/installing the GPU engine \(WebGPU\)/);
      await ui.screenshot('gpu-engine-installing');

      // No GPU adapter reaches this VS Code's engine (nothing points Vulkan at SwiftShader here), so the packages
      // install and the check that follows reports why the backend cannot run.
      const warning = await ui.waitForNotification(
        /webgpu is installed but cannot run on this machine: .*It needs a GPU with a Vulkan, Metal or D3D12 driver/,
        GPU_INSTALL_TIMEOUT,
      );
      assert.match(warning, /no WebGPU adapter was found|only a software WebGPU adapter was found/, 'the warning gives the reason');
      await ui
        .notificationToast(/installed but cannot run/)
        .getByRole('button', { name: 'Open Log' })
        .waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
      await waitFor(
        'the progress notification to close',
        async () => ((await ui.notifications()).some((text) => /installing the GPU engine/.test(text)) ? undefined : true),
        { lastSeen: async () => `notifications [${(await ui.notifications()).join(' | ')}]` },
      );
      await ui.waitForToastShown(/installed but cannot run/);
      await ui.screenshot('gpu-engine-installed-cannot-run-here');

      const storage = path.join(ui.userDataDir, 'User', 'globalStorage', extensionId());
      const engineDir = path.join(storage, 'gpu-engine');
      // The setting has "machine" scope, so in a remote window such as code-server's VS Code writes it to the
      // settings of the machine the extension runs on (Machine/settings.json), not to the browser-side User ones.
      const settingsOf = (scope: string) => {
        const file = path.join(ui.userDataDir, scope, 'settings.json');
        return fs.existsSync(file) ? (parseJsonc(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
      };
      assert.equal(settingsOf('Machine')['distill.engine.optionalModules'], engineDir, 'distill.engine.optionalModules in the machine settings');
      for (const pkg of ['webgpu', '@tensorflow/tfjs-backend-webgpu']) {
        assert.ok(fs.existsSync(path.join(engineDir, 'node_modules', pkg, 'package.json')), `${pkg} is not installed in ${engineDir}`);
      }
      const leftovers = fs.readdirSync(storage).filter((entry) => entry !== 'gpu-engine' && entry.startsWith('gpu-engine'));
      assert.deepEqual(leftovers, [], `staging or old folders left beside ${engineDir}`);

      // What a later run's `auto` gets with this folder: the installed extension's engine still lands on wasm.
      const survey = backendSurvey(ui, engineDir);
      assert.equal(survey.find((entry) => entry.name === 'webgpu')?.available, false, `webgpu in ${JSON.stringify(survey)}`);
      assert.equal(survey.find((entry) => entry.available)?.name, 'wasm', `first available rung in ${JSON.stringify(survey)}`);
    });
  });

  describe('a backend that cannot load here is found before the run starts', function () {
    this.timeout(2 * RUN_TIMEOUT);

    it('engine.backend "webgpu" without a GPU: no run starts, the message offers Use auto and Install GPU Engine; Use auto edits and starts', async function () {
      const ui = session();
      await ui.clearNotifications();
      const configPath = path.join(workspace.dir, workspace.configFile);
      const text = fs.readFileSync(configPath, 'utf8');
      // The temperature goes back to a valid 4 (an earlier step left -1 to show its problem), the backend to webgpu.
      const valid = applyEdits(text, modify(text, ['distillation', 'temperature'], 4, {}));
      fs.writeFileSync(configPath, applyEdits(valid, modify(valid, ['engine', 'backend'], 'webgpu', {})));
      await ui.showProblems();
      await waitFor('the temperature problem to go', async () => ((await ui.problemRows()).some((row) => /temperature/i.test(row)) ? undefined : true), {
        lastSeen: async () => `problems [${(await ui.problemRows()).join(' | ')}]`,
      });
      const before = runDirs().length;
      // The sweep step left its best.distill.json beside this config: Start Run runs the config in the editor.
      await ui.openFile(workspace.configFile);
      await ui.runCommand('Distill: Start Run');
      const message = await ui.waitForNotification(/sets engine\.backend to "webgpu", but it cannot run on this machine: .*The run did not start/);
      assert.match(message, /no WebGPU adapter was found|only a software/, message);
      const toast = ui.notificationToast(/cannot run on this machine/);
      for (const name of ['Use auto', 'Install GPU Engine', 'Open Log'])
        await toast.getByRole('button', { name, exact: true }).waitFor({ state: 'visible', timeout: TIMEOUTS.ui });
      assert.equal(runDirs().length, before, 'no run directory was written');
      await ui.screenshot('backend-cannot-load-before-start');

      await toast.getByRole('button', { name: 'Use auto', exact: true }).click({ timeout: TIMEOUTS.ui });
      await waitFor('engine.backend to be "auto" in the config', async () =>
        (parseJsonc(fs.readFileSync(configPath, 'utf8')) as { engine?: { backend?: string } }).engine?.backend === 'auto' ? true : undefined,
      );
      await ui.waitForNotification(/run \d+%/, RUN_TIMEOUT);
      assert.equal(runDirs().length, before + 1, 'Use auto started the run');
      await ui.runCommand('Distill: Stop Run');
      await ui.waitForNotification(/stopped/, RUN_TIMEOUT);
    });

    it('the Delete key on a run row asks before deleting, as the context menu does', async function () {
      const ui = session();
      await ui.openViewContainer('Distill');
      const row = await ui.waitForTreeItem('Runs', /stopped/);
      await row.click({ timeout: TIMEOUTS.ui });
      await ui.page.keyboard.press('Delete');
      const question = await ui.waitForDialog();
      assert.match(question.message, /^Delete run .+\? Its metrics, checkpoints and exported student go with it\.$/);
      await ui.screenshot('delete-key-confirmation');
      await ui.answerDialog(/^\s*Cancel\s*$/, TIMEOUTS.ui);
      await ui.waitForTreeItem('Runs', /stopped/);
    });
  });
});

describe('Distill in Restricted Mode (workspace trust on, the folder not trusted)', function () {
  let vscode: VSCodeSession | undefined;
  let scratch: string;

  before(async function () {
    this.timeout(5 * 60_000);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-e2e-untrusted-'));
    const dir = path.join(scratch, 'untrusted');
    fs.mkdirSync(dir);
    writeFashionConfig(dir);
    vscode = await VSCodeSession.launch({ name: 'restricted', workspace: dir, workspaceTrust: true });
  });

  after(async function () {
    this.timeout(2 * TIMEOUTS.shutdown + 10_000);
    await vscode?.close();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && vscode) await vscode.screenshot(`FAILED-${this.currentTest.title}`).catch(() => undefined);
  });

  it('refuses to start a run and says why, after the user declines to trust the folder', async function () {
    if (!vscode) throw new Error('VS Code did not start (see the before-all hook error)');
    const ui = vscode;
    const question = await ui.answerDialog(/No, I don.t trust the authors/);
    assert.match(question, /trust/i);
    await ui.runCommand('Distill: Start Run');
    await ui.waitForNotification(/cannot start a run in Restricted Mode/);
    await ui.openViewContainer('Distill');
    // Restricted Mode still reads configs and model metadata: the Models view lists the config's teacher and
    // student, and its "no config" welcome never shows, not even while the view is loading.
    const models = ui.viewPane('Models');
    assert.doesNotMatch(await models.innerText(), /No Distill config/, 'the Models view claimed there is no config while loading');
    await ui.waitForTreeItem('Models', /^Teacher.*preset mlp/);
    await ui.waitForTreeItem('Models', /^Student.*preset mlp/);
    assert.doesNotMatch(await models.innerText(), /No Distill config/);
    await ui.screenshot('restricted-mode-start-refused');
    assert.ok(!fs.existsSync(path.join(scratch, 'untrusted', 'runs')), 'a run directory was created in Restricted Mode');
  });
});

/** The records of one model in a run's metrics.jsonl: its finished epochs, in file order. */
function finishedEpochs(runDir: string, model: string): number[] {
  return fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { kind?: string; student?: string; epoch?: number })
    .filter((record) => record.kind === 'epoch' && record.student === model)
    .map((record) => record.epoch ?? -1);
}

describe('The first hour: an empty folder, New Config, a run stopped while the teacher trains, resumed', function () {
  let vscode: VSCodeSession | undefined;
  let scratch: string;
  let dir: string;
  const configFile = 'fashion-kd.distill.json';

  before(async function () {
    this.timeout(5 * 60_000);
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-e2e-first-hour-'));
    dir = path.join(scratch, 'first-hour');
    fs.mkdirSync(dir);
    vscode = await VSCodeSession.launch({ name: 'first-hour', workspace: dir });
  });

  after(async function () {
    this.timeout(2 * TIMEOUTS.shutdown + 10_000);
    await vscode?.close();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && vscode) await vscode.screenshot(`FAILED-${this.currentTest.title}`).catch(() => undefined);
  });

  function session(): VSCodeSession {
    if (!vscode) throw new Error('VS Code did not start (see the before-all hook error)');
    return vscode;
  }

  const runDirs = () => (fs.existsSync(path.join(dir, 'runs')) ? fs.readdirSync(path.join(dir, 'runs')).map((name) => path.join(dir, 'runs', name)) : []);

  it('New Config asks what to start from and writes a config with no problems, that runs as it is', async function () {
    const ui = session();
    await ui.runCommand('Distill: New Config');
    // Debian's dataset-fashion-mnist is installed here (the test command installs it): it is offered first.
    await ui.pickQuickItem(/Fashion-MNIST/);
    await ui.screenshot('new-config-name');
    await ui.page.keyboard.press('Enter');
    await waitFor(`${configFile} to be written and opened`, async () =>
      fs.existsSync(path.join(dir, configFile)) && (await ui.editorTabs()).includes(configFile) ? true : undefined,
    );
    const text = fs.readFileSync(path.join(dir, configFile), 'utf8');
    assert.match(text, /"maxSamples": \{ "train": 6000, "test": 2000 \}/);
    assert.match(text, /\/usr\/share\/datasets\/fashion-mnist\/train-images-idx3-ubyte\.gz/);
    await ui.showProblems();
    // Give the JSON service and our diagnostics time to publish, then expect none at all.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.deepEqual(await ui.problemRows(), [], 'a new config has problems');
    await ui.screenshot('new-config-no-problems');
  });

  it('starts: one progress for the whole run, the teacher first, and the dashboard plots the teacher while it trains', async function () {
    this.timeout(RUN_TIMEOUT + 60_000);
    const ui = session();
    await ui.runCommand('Distill: Start Run');
    await ui.waitForNotification(/teacher \(1 of 3\) · epoch \d\/8 · step \d+\/\d+ · loss [\d.]+ · run \d+%/, RUN_TIMEOUT);
    await ui.screenshot('first-run-teacher-progress');
    await ui.runCommand('Distill: Open Dashboard');
    const dashboard = await ui.waitForWebview('figure.chart[data-chart="loss"]', RUN_TIMEOUT);
    await waitFor("the teacher's line in the loss chart", async () =>
      (await dashboard.locator('figure.chart[data-chart="loss"]').innerText()).includes('Teacher') ? true : undefined,
    );
    await ui.screenshot('dashboard-during-the-teacher');
  });

  it('a stop during the teacher keeps it: the message says so and Resume continues it, to completion', async function () {
    this.timeout(2 * RUN_TIMEOUT);
    const ui = session();
    await ui.runCommand('Distill: Stop Run');
    const stopped = /stopped while training the teacher \(epoch \d of 8, step \d+\); Resume continues from its checkpoint/;
    const message = await ui.waitForNotification(stopped, RUN_TIMEOUT);
    await ui.waitForToastShown(stopped);
    // The dashboard still open says the same once it has read the run's status (its safety poll is 2 s).
    const dashboard = await ui.waitForWebview('header.run-header span.status[data-status="stopped"]');
    assert.equal(
      await dashboard.locator('header.run-header span.progress').textContent(),
      `teacher · epoch ${/epoch (\d) of 8/.exec(message)![1]} of 8`,
      'the dashboard header and the message name the same epoch',
    );
    await ui.screenshot('stopped-during-the-teacher');
    const [run] = runDirs();
    assert.ok(run && fs.existsSync(path.join(run, 'checkpoints', 'teacher', 'state.json')), 'no teacher checkpoint');
    const before = finishedEpochs(run, 'teacher');
    assert.ok(before.length < 8, `the teacher had finished: ${before}`);
    await ui.notificationToast(stopped).getByRole('button', { name: 'Resume', exact: true }).click({ timeout: TIMEOUTS.ui });
    await ui.waitForNotification(/"fashion-kd" completed\. KD student \d+\.\d%, teacher \d+\.\d%, scratch \d+\.\d%/, 2 * RUN_TIMEOUT);
    await ui.screenshot('first-run-completed');
    // The teacher continued where it stopped: each of its epochs once, in order; one run directory.
    assert.deepEqual(finishedEpochs(run, 'teacher'), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(runDirs().length, 1);
  });
});
