/**
 * Coalesces run deltas into at most one post per interval (50 ms: ≤ 20 posts/s) however fast the engine writes.
 * The first delta after a quiet period goes out at once; later ones wait for the interval and are merged, one
 * delta per run, in arrival order. No vscode: unit-tested in Node.
 */
import type { RunDelta } from '../../shared/webviewProtocol';
import { mergeDeltas } from './runSource';

export const MIN_POST_INTERVAL_MS = 50;

export class DeltaBatcher {
  private pending = new Map<string, RunDelta>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastPost = -Infinity;

  constructor(
    private readonly post: (deltas: RunDelta[]) => void,
    private readonly intervalMs = MIN_POST_INTERVAL_MS,
  ) {}

  push(delta: RunDelta): void {
    const before = this.pending.get(delta.runDir);
    this.pending.set(delta.runDir, before ? mergeDeltas(before, delta) : delta);
    if (this.timer) return;
    const wait = this.lastPost + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Post what is pending now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending.size) return;
    const deltas = [...this.pending.values()];
    this.pending.clear();
    this.lastPost = Date.now();
    this.post(deltas);
  }

  /** Drop what is pending: the webview is gone, and it will get a fresh snapshot when it is back. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  dispose(): void {
    this.clear();
  }
}
