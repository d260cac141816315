/**
 * The waiting a pull-based source reader's loop does (built-in `sse` and
 * `sling` sources): wait until something changed (credits granted, a batch
 * sent), or sleep — a reconnect delay, a poll interval — that close() can cut
 * short.
 */
export class ReaderSignal {
  private waiters: Array<() => void> = [];
  private wakeUp: (() => void) | undefined;

  /** Resolves at the next notify() or interrupt(). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  notify(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  /** Resolves after `ms`, or at once on interrupt(). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  /** Ends a sleep and wakes every waiter (the reader is closing). */
  interrupt(): void {
    this.wakeUp?.();
    this.notify();
  }
}
