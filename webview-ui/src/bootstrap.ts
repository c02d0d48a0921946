/**
 * What both webview pages (main.ts, conntrack.ts) start with: the VS Code API object, the DOM
 * helpers that keep cluster text as text, and the start-up order — listen for the host, show
 * the saved state at once, then say `ready` so the host sends the current content.
 */

/** The page's side of the typed contract: what it posts and what it saves. */
export interface VsCodeApi<Message, State> {
  postMessage(message: Message): void;
  getState(): unknown;
  setState(state: State): void;
}

declare function acquireVsCodeApi(): VsCodeApi<never, never>;

/** The API object (VS Code allows one `acquireVsCodeApi` call per page). */
export function vscodeApi<Message, State>(): VsCodeApi<Message, State> {
  return acquireVsCodeApi() as unknown as VsCodeApi<Message, State>;
}

/** An element with its class, text (as `textContent`, never markup), attributes and children. */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: { className?: string; text?: string; attributes?: Record<string, string> } = {},
  children: Node[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.className !== undefined) {
    node.className = options.className;
  }
  if (options.text !== undefined) {
    node.textContent = options.text;
  }
  for (const [name, value] of Object.entries(options.attributes ?? {})) {
    node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(child);
  }
  return node;
}

/** A codicon. */
export function icon(name: string): HTMLElement {
  // Constant class names only; never built from cluster data.
  return element('span', { className: `codicon codicon-${name}`, attributes: { 'aria-hidden': 'true' } });
}

/** How a page handles the host and its saved state. */
export interface PageStart<HostMessage, State> {
  readonly isHostMessage: (value: unknown) => value is HostMessage;
  readonly onMessage: (message: HostMessage) => void;
  readonly isState: (value: unknown) => value is State;
  readonly restore: (state: State) => void;
}

/**
 * Listens for the host (dropping what its contract does not allow), restores the saved state,
 * then posts `ready`.
 */
export function startPage<HostMessage, State>(api: VsCodeApi<{ readonly type: 'ready' }, unknown>, start: PageStart<HostMessage, State>): void {
  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    const message = event.data;
    if (!start.isHostMessage(message)) {
      return;
    }
    start.onMessage(message);
  });
  const saved = api.getState();
  if (start.isState(saved)) {
    start.restore(saved);
  }
  api.postMessage({ type: 'ready' });
}
