/**
 * The dashboard: a header for the run, tabs, and the active tab's view. Only the active tab exists; switching
 * builds the next one from the store. The store is filled by the host's snapshot and grown by its deltas.
 * The header and the tab bar are built once and patched as deltas arrive: a button rebuilt under the pointer
 * would swallow the user's click and drop the keyboard focus.
 */
import { modelName } from '../shared/format';
import {
  DASHBOARD_STATE_VERSION,
  defaultUiState,
  isDashboardState,
  type DashboardTab,
  type DashboardUiState,
  type HostToWebview,
} from '../shared/webviewProtocol';
import { runDisplayName } from '../shared/runName';
import { CompareTab } from './tabs/compareTab';
import { CompressionTab } from './tabs/compressionTab';
import { ConfusionTab } from './tabs/confusionTab';
import type { TabView, ViewContext } from './context';
import { CurvesTab } from './tabs/curvesTab';
import { h, setAttr, setText } from './dom';
import { HostChannel } from './host';
import { ReportTab } from './tabs/reportTab';
import { SoftLabelsTab } from './tabs/softLabelsTab';
import { selectTab, wireTablist } from './tablist';
import { DashboardStore, type StoreEvent } from './store';
import { readTheme, watchTheme, type Theme } from './charts/theme';

const TABS: { id: DashboardTab; label: string }[] = [
  { id: 'curves', label: 'Curves' },
  { id: 'softLabels', label: 'Soft labels' },
  { id: 'confusion', label: 'Confusion' },
  { id: 'report', label: 'Report card' },
  { id: 'compression', label: 'Compression' },
  { id: 'compare', label: 'Compare runs' },
];

export class DashboardApp {
  private readonly store = new DashboardStore();
  private readonly channel: HostChannel;
  private theme: Theme = readTheme();
  private uiState: DashboardUiState;
  private hasSavedUi: boolean;
  private view: TabView | undefined;
  private readonly header: HTMLElement;
  private readonly headerParts = {
    title: h('h1'),
    status: h('span.status'),
    progress: h('span.progress'),
    reason: h('span.reason'),
    noStatus: h('span.warning'),
    skipped: h('span.warning', { title: 'Lines of metrics.jsonl or softlabels.jsonl that are not valid JSON were skipped.' }),
    runId: h('span.run-id'),
    /** Shown instead of all the above when the snapshot has no run. */
    noRun: h('p.placeholder', {}, 'This run directory has no status.json: it is not a Distill run, or it was deleted.'),
  };
  private readonly tabBar = h('nav.tabs', { role: 'tablist' });
  private readonly tabButtons = new Map<DashboardTab, HTMLButtonElement>();
  private readonly content = h('main.tab-content#tab-panel', { role: 'tabpanel' });
  private readonly errorBanner = h('div.error-banner', { role: 'alert', hidden: true });
  private readonly ctx: ViewContext;

  constructor(private readonly root: HTMLElement) {
    this.channel = new HostChannel((m) => this.onHostMessage(m));
    const saved = this.channel.state;
    this.hasSavedUi = isDashboardState(saved);
    this.uiState = { ...defaultUiState('run'), ...(isDashboardState(saved) ? saved.ui : {}) };
    this.ctx = {
      store: this.store,
      channel: this.channel,
      theme: () => this.theme,
      ui: () => this.uiState,
      setUi: (patch) => {
        this.uiState = { ...this.uiState, ...patch };
        this.persist();
      },
      reportError: (e) => this.reportError(e),
    };
    this.header = this.buildHeader();
    this.buildTabBar();
    this.store.subscribe((e) => this.onStoreEvent(e));
    watchTheme((theme) => {
      this.theme = theme;
      this.showTab(this.uiState.tab);
    });
    // Resize on the next frame: resizing charts inside the observer's callback would trigger it again.
    let resizeFrame = 0;
    new ResizeObserver(() => {
      cancelAnimationFrame(resizeFrame);
      resizeFrame = requestAnimationFrame(() => this.view?.resize(this.contentWidth()));
    }).observe(this.content);
    window.addEventListener('error', (e) => this.reportError(e.error ?? e.message));
    window.addEventListener('unhandledrejection', (e) => this.reportError(e.reason));
    // Ready last: the snapshot may arrive as soon as the host hears it.
    this.channel.post({ type: 'ready' });
  }

  private persist(): void {
    if (!this.store.loaded) return;
    this.channel.state = {
      version: DASHBOARD_STATE_VERSION,
      view: this.store.view,
      runDirs: this.store.runs.map((r) => r.runDir),
      ui: this.uiState,
    };
  }

  private onHostMessage(message: Exclude<HostToWebview, { type: 'reply' }>): void {
    try {
      if (message.type === 'snapshot') {
        if (!this.hasSavedUi) this.uiState = { ...this.uiState, tab: defaultUiState(message.view).tab };
        this.hasSavedUi = true;
        this.store.loadSnapshot(message.view, message.runs);
      } else if (message.type === 'delta') {
        this.store.applyDeltas(message.deltas);
      }
    } catch (e) {
      this.reportError(e);
    }
  }

  private onStoreEvent(event: StoreEvent): void {
    if (event.kind === 'snapshot') {
      this.persist();
      this.renderFrame();
      this.showTab(this.uiState.tab);
      return;
    }
    if (event.kind === 'runs') this.persist();
    // Step records stream in many times a second; the header only shows status, so it waits for a status change.
    if (event.kind === 'runs' || [...event.changes.values()].some((c) => c.meta || c.reset)) this.renderHeader();
    this.view?.update(event);
  }

  private renderFrame(): void {
    // Attached once (replacing the "Reading the run…" placeholder); re-attaching would drop the focus.
    if (this.header.parentNode !== this.root) this.root.replaceChildren(this.errorBanner, this.header, this.tabBar, this.content);
    this.renderHeader();
  }

  private buildHeader(): HTMLElement {
    // The buttons act on whichever run is shown when they are clicked, so they never need rebuilding.
    const openFile = (file: 'config' | 'metrics') => {
      const run = this.store.primary;
      if (run) this.channel.post({ type: 'openFile', runDir: run.runDir, file });
    };
    const openConfig = h('button.secondary.open-config', { type: 'button', title: 'Open the run’s resolved config.json' }, 'Open config');
    openConfig.addEventListener('click', () => openFile('config'));
    const openMetrics = h('button.secondary.open-metrics', { type: 'button', title: 'Open metrics.jsonl' }, 'Open metrics');
    openMetrics.addEventListener('click', () => openFile('metrics'));
    const p = this.headerParts;
    return h('header.run-header', {}, p.noRun, p.title, p.status, p.progress, p.reason, p.noStatus, p.skipped, p.runId, openConfig, openMetrics);
  }

  /** Patches the header to the primary run's status: only what changed is written. */
  private renderHeader(): void {
    const run = this.store.primary;
    const p = this.headerParts;
    for (const el of this.header.children) (el as HTMLElement).hidden = !run;
    p.noRun.hidden = !!run;
    if (!run) return;
    const s = run.statusFile;
    // Where a run stands while it runs or after it stopped; a completed run has trained every model, so no epoch.
    const who = s?.student ? modelName(s.student) : '';
    const progress =
      s?.epoch !== undefined && run.status !== 'completed' ? `${who ? `${who} · ` : ''}epoch ${s.epoch}${s.totalEpochs ? ` of ${s.totalEpochs}` : ''}` : '';
    setText(p.title, runDisplayName(run));
    setText(p.status, run.status);
    setAttr(p.status, 'class', `status status-${run.status}`);
    setAttr(p.status, 'data-status', run.status);
    setText(p.progress, progress);
    p.progress.hidden = !progress;
    setText(p.reason, s?.reason ?? '');
    p.reason.hidden = !s?.reason;
    setText(p.noStatus, s ? '' : `No status.json in ${run.runDir}: it is not a Distill run, or it was deleted.`);
    p.noStatus.hidden = !!s;
    // A deleted run has no files left to open.
    for (const button of this.header.querySelectorAll<HTMLElement>('.open-config, .open-metrics')) button.hidden = !s;
    setText(p.skipped, run.skippedLines ? `${run.skippedLines} unreadable lines skipped` : '');
    p.skipped.hidden = !run.skippedLines;
    setText(p.runId, run.runId);
    this.renderTabBar();
  }

  private buildTabBar(): void {
    for (const t of TABS) {
      const button = h(
        'button.tab',
        { type: 'button', role: 'tab', id: `tab-${t.id}`, 'aria-controls': 'tab-panel', 'aria-selected': 'false', 'data-tab': t.id },
        t.label,
      );
      button.addEventListener('click', () => {
        if (t.id !== this.uiState.tab || !this.view) this.showTab(t.id);
      });
      this.tabButtons.set(t.id, button);
      this.tabBar.append(button);
    }
    wireTablist(this.tabBar, [...this.tabButtons.values()], (i) => {
      const id = TABS[i].id;
      if (id !== this.uiState.tab || !this.view) this.showTab(id);
    });
  }

  /** Patches the tabs: which one is selected, and how many runs the comparison holds. */
  private renderTabBar(): void {
    selectTab(
      [...this.tabButtons.values()],
      Math.max(
        0,
        TABS.findIndex((t) => t.id === this.uiState.tab),
      ),
      this.content,
    );
    for (const t of TABS) {
      const button = this.tabButtons.get(t.id)!;
      setText(button, t.id === 'compare' && this.store.runs.length > 1 ? `${t.label} (${this.store.runs.length})` : t.label);
    }
  }

  private contentWidth(): number {
    return this.content.clientWidth || window.innerWidth - 32;
  }

  private showTab(tab: DashboardTab): void {
    if (!this.store.loaded) return;
    this.ctx.setUi({ tab });
    this.renderTabBar();
    this.view?.destroy();
    this.view = undefined;
    this.content.replaceChildren();
    const width = this.contentWidth();
    try {
      this.view = this.createView(tab, width);
      this.content.append(this.view.element);
    } catch (e) {
      this.reportError(e);
    }
  }

  private createView(tab: DashboardTab, width: number): TabView {
    switch (tab) {
      case 'curves':
        return new CurvesTab(this.ctx, width);
      case 'softLabels':
        return new SoftLabelsTab(this.ctx, width);
      case 'confusion':
        return new ConfusionTab(this.ctx, width);
      case 'report':
        return new ReportTab(this.ctx, width);
      case 'compression':
        return new CompressionTab(this.ctx, width);
      case 'compare':
        return new CompareTab(this.ctx, width);
    }
  }

  private reportError(error: unknown): void {
    const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
    this.errorBanner.hidden = false;
    this.errorBanner.textContent = `The dashboard hit an error: ${message.split('\n')[0]}. Details are in the Distill log.`;
    this.channel.post({ type: 'error', message });
  }
}
