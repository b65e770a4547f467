/**
 * A tab drawn from summary.json alone (confusion matrices, the report card). Status changes stream in while a run
 * trains; only a new summary changes what such a tab shows, so it redraws then and on a real width change.
 */
import type { Summary } from '../../shared/records';
import type { TabView, ViewContext } from '../context';
import { h } from '../dom';
import type { StoreEvent } from '../store';

export abstract class SummaryTab implements TabView {
  readonly element: HTMLElement;
  /** The summary drawn last. */
  private shown: Summary | undefined;

  protected constructor(
    protected readonly ctx: ViewContext,
    protected width: number,
    elementSelector: `section.${string}`,
    private readonly placeholder: string,
  ) {
    this.element = h(elementSelector);
  }

  /** Draw `summary` into the (emptied) element. */
  protected abstract draw(summary: Summary): void;

  render(): void {
    this.element.replaceChildren();
    this.shown = this.ctx.store.primary?.summary;
    if (this.shown) this.draw(this.shown);
    else this.element.append(h('p.placeholder', {}, this.placeholder));
  }

  update(event: StoreEvent): void {
    if (event.kind === 'runs') return;
    if (event.kind === 'delta' && this.ctx.store.primary?.summary === this.shown) return;
    this.render();
  }

  resize(width: number): void {
    if (Math.abs(width - this.width) < 4) return;
    this.width = width;
    this.render();
  }

  destroy(): void {
    this.element.remove();
  }
}
