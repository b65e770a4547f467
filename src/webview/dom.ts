/** A few DOM helpers, so views read as structure. Never innerHTML: text is always set as text. */

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined>;

type Tag = keyof HTMLElementTagNameMap;
/** The tag of a spec such as `button.secondary#play`. */
type TagOf<S extends string> = S extends `${infer T}.${string}` ? TagOf<T> : S extends `${infer T}#${string}` ? T : S;
type ElementOf<S extends string> = TagOf<S> extends Tag ? HTMLElementTagNameMap[TagOf<S>] : HTMLElement;

/** `h('div.card#id', { title: 'x' }, child, …)`: an element with classes, id, attributes and children. */
export function h<S extends Tag | `${Tag}.${string}` | `${Tag}#${string}`>(spec: S, attrs: Attrs = {}, ...children: Child[]): ElementOf<S> {
  const [tag, ...parts] = spec.split(/(?=[.#])/);
  const el = document.createElement(tag) as ElementOf<S>;
  for (const part of parts) {
    if (part.startsWith('#')) el.id = part.slice(1);
    else el.classList.add(part.slice(1));
  }
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) if (c !== null && c !== undefined && c !== false) parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/*
 * Live updates patch the page rather than rebuild it: an element that is replaced under the pointer loses the
 * click, the focus and any text selection in it. These helpers write only what differs.
 */

/** Sets an element's text when it differs (rewriting equal text would still drop a selection inside it). */
export function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** Sets (or, with `undefined`, removes) an attribute when it differs. */
export function setAttr(el: Element, name: string, value: string | undefined): void {
  if (value === undefined) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/** Puts `next` as `container`'s only child unless an equal subtree is already there. For static content (tables,
 *  text); canvases compare equal whatever they show, so they are redrawn, not swapped. */
export function replaceIfChanged(container: HTMLElement, next: HTMLElement): void {
  const current = container.firstElementChild;
  if (container.childNodes.length === 1 && current?.isEqualNode(next)) return;
  container.replaceChildren(next);
}

/** A canvas sized in CSS pixels and backed at the device pixel ratio; returns its 2D context, scaled. */
export function sizeCanvas(canvas: HTMLCanvasElement, cssWidth: number, cssHeight: number): CanvasRenderingContext2D {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(cssWidth * ratio));
  canvas.height = Math.max(1, Math.round(cssHeight * ratio));
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${cssHeight}px`;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('This webview cannot draw on a 2D canvas.');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

export const formatNumber = (v: number | undefined, digits = 3): string => {
  if (v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
};

export const formatPercent = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(digits)}%`);
