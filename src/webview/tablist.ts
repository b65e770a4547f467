/**
 * The dashboard's tab bar as a WAI-ARIA tablist (automatic activation): ←/→ move to the previous/next tab, wrapping
 * around, Home/End to the first/last; the tab moved to is focused and shown. Only the selected tab is in the Tab
 * order (roving tabindex), and the panel is labelled by it. https://www.w3.org/WAI/ARIA/apg/patterns/tabs/
 */

/** Index of the tab a key moves to from `current` among `count` tabs, or undefined for a key tabs do not use. */
export function tabKeyTarget(key: string, current: number, count: number): number | undefined {
  if (count < 1) return undefined;
  switch (key) {
    case 'ArrowRight':
      return (current + 1) % count;
    case 'ArrowLeft':
      return (current - 1 + count) % count;
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return undefined;
  }
}

/** Wires `bar`'s keys: `activate(i)` shows tab i (the caller then calls `selectTab`). */
export function wireTablist(bar: HTMLElement, tabs: readonly HTMLElement[], activate: (index: number) => void): void {
  bar.setAttribute('aria-orientation', 'horizontal');
  bar.addEventListener('keydown', (e) => {
    const current = tabs.indexOf(e.target as HTMLElement);
    if (current < 0 || e.altKey || e.ctrlKey || e.metaKey) return;
    const next = tabKeyTarget(e.key, current, tabs.length);
    if (next === undefined) return;
    e.preventDefault();
    tabs[next].focus();
    activate(next);
  });
}

/** Marks tab `selected` (aria-selected, the one in the Tab order) and labels `panel` by it. */
export function selectTab(tabs: readonly HTMLElement[], selected: number, panel: HTMLElement): void {
  tabs.forEach((tab, i) => {
    const on = i === selected;
    if (tab.getAttribute('aria-selected') !== String(on)) tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    if (on && tab.id) panel.setAttribute('aria-labelledby', tab.id);
  });
}
