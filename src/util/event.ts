/**
 * A tiny event emitter with the same shape as `vscode.EventEmitter`, for code that must not
 * import `vscode` (src/kube, src/node, ...). Its `Disposable` is structurally a
 * `vscode.Disposable`, so subscriptions can go into `context.subscriptions`.
 */

/** Something that releases a resource. */
export interface Disposable {
  dispose(): void;
}

/** Subscribe to an event; call `dispose()` on the result to unsubscribe. */
export type Event<T> = (listener: (value: T) => void) => Disposable;

/** Holds listeners and calls them, in subscription order, on `fire`. */
export class Emitter<T> implements Disposable {
  private listeners: Array<(value: T) => void> = [];
  private disposed = false;

  /** The event to hand out to subscribers. */
  readonly event: Event<T> = (listener) => {
    if (this.disposed) {
      return { dispose: () => undefined };
    }
    this.listeners.push(listener);
    return {
      dispose: () => {
        this.listeners = this.listeners.filter((candidate) => candidate !== listener);
      },
    };
  };

  /**
   * Calls every listener with `value`. A listener that throws does not stop the others;
   * `onListenerError` (if given) hears about it.
   */
  fire(value: T, onListenerError?: (error: unknown) => void): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (error) {
        onListenerError?.(error);
      }
    }
  }

  dispose(): void {
    this.disposed = true;
    this.listeners = [];
  }
}
