/**
 * The webview's side of the host connection: posts typed messages, correlates requests with replies by id (with
 * a timeout), and keeps the small persisted state (`setState`), which is what the panel serializer gets back.
 */
import type { DashboardState, HostToWebview, WebviewRequestMethod, WebviewRequests, WebviewToHost } from '../shared/webviewProtocol';

export const REQUEST_TIMEOUT_MS = 15_000;

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class HostChannel {
  private readonly api = acquireVsCodeApi<DashboardState>();
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly onMessage: (message: Exclude<HostToWebview, { type: 'reply' }>) => void) {
    window.addEventListener('message', (event: MessageEvent<HostToWebview>) => {
      const message = event.data;
      if (!message || typeof message !== 'object' || typeof message.type !== 'string') return;
      if (message.type === 'reply') this.settle(message);
      else this.onMessage(message);
    });
  }

  post(message: WebviewToHost): void {
    this.api.postMessage(message);
  }

  request<M extends WebviewRequestMethod>(method: M, params: WebviewRequests[M]['params']): Promise<WebviewRequests[M]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`The extension did not answer "${method}" within ${REQUEST_TIMEOUT_MS / 1000} s.`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve: resolve, reject, timer });
      this.post({ type: 'request', id, method, params } as WebviewToHost);
    });
  }

  private settle(reply: Extract<HostToWebview, { type: 'reply' }>): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    clearTimeout(p.timer);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(new Error(reply.error));
  }

  get state(): DashboardState | undefined {
    return this.api.getState();
  }

  set state(state: DashboardState) {
    this.api.setState(state);
  }
}
