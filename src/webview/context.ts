/** What every dashboard view gets: the data, the UI selections (persisted), the theme and the host channel. */
import { modelName } from '../shared/format';
import type { TrainedRole } from '../shared/records';
import type { DashboardUiState } from '../shared/webviewProtocol';
import type { HostChannel } from './host';
import type { DashboardStore, StoreEvent } from './store';
import type { Theme } from './charts/theme';

export interface ViewContext {
  readonly store: DashboardStore;
  readonly channel: HostChannel;
  theme(): Theme;
  ui(): DashboardUiState;
  /** Change UI selections; they are persisted with `setState` and survive a reload. */
  setUi(patch: Partial<DashboardUiState>): void;
  /** Report a rendering problem to the host's log. */
  reportError(error: unknown): void;
}

/** A tab's content. Views are rebuilt on snapshot and theme changes, and told about deltas in between. */
export interface TabView {
  readonly element: HTMLElement;
  update(event: StoreEvent): void;
  /** The available width changed. */
  resize(width: number): void;
  destroy(): void;
}

export const studentLabel = (s: TrainedRole): string => modelName(s, { short: true, capital: true });

/** The KD student in the theme's first chart colour, the scratch baseline in its second, the teacher in its third, everywhere. */
export const studentColor = (ctx: ViewContext, s: TrainedRole): string => ctx.theme().palette[s === 'kd' ? 0 : s === 'baseline' ? 1 : 2];
