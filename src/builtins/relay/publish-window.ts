/**
 * A bounded window of overlapping publishes, committed in order:
 *
 *   add(e1, p1) add(e2, p2) add(e3, p3) …   (add waits while `limit` are outstanding)
 *        p2 ✓   p1 ✓   p3 …                 (publishes may settle in any order)
 *        └─ commit(e2) ─┘                   (once per run of settled successes: the last one)
 *
 * commit() runs for the last event of the leading run of successful
 * publishes, one commit at a time, so the relay saves the resume id of an
 * event only when it and every earlier one are published. After the first
 * failure (a publish rejected or a commit failed) nothing more is committed:
 * `failure` is set, `onFailure` is called once, and the remaining publishes
 * are only waited for. A new window starts after the relay reconnected.
 */
export class PublishWindow<T> {
  private readonly entries: Array<{ item: T; state: "pending" | "done" | "failed"; error?: unknown }> = [];
  private committing = false;
  private failed: { error: unknown } | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly commit: (last: T) => Promise<void>,
    private readonly onFailure: (error: unknown) => void = () => undefined,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`window limit must be >= 1: ${limit}`);
  }

  /** The first failure, if any. */
  get failure(): { error: unknown } | undefined {
    return this.failed;
  }

  /** Publishes not yet settled or settled but not committed. */
  get outstanding(): number {
    return this.entries.length;
  }

  /** Adds a publish; resolves when there is room for another one (or the window failed). */
  async add(item: T, publishing: Promise<unknown>): Promise<void> {
    const entry: (typeof this.entries)[number] = { item, state: "pending" };
    this.entries.push(entry);
    publishing.then(
      () => {
        entry.state = "done";
        this.pump();
      },
      (err: unknown) => {
        entry.state = "failed";
        entry.error = err;
        this.pump();
      },
    );
    while (this.entries.length >= this.limit && this.failed === undefined) await this.changed();
  }

  /** Resolves when every publish settled and every commit it allows is done. */
  async drain(): Promise<void> {
    while (this.entries.length > 0 || this.committing) await this.changed();
  }

  private pump(): void {
    if (this.committing) return;
    if (this.failed !== undefined) {
      // Nothing after a failure is committed: drop settled entries, wait for the rest.
      while (this.entries.length > 0 && this.entries[0].state !== "pending") this.entries.shift();
      this.notify();
      return;
    }
    let run = 0;
    while (run < this.entries.length && this.entries[run].state === "done") run++;
    if (run > 0) {
      const last = this.entries[run - 1].item;
      this.entries.splice(0, run);
      this.committing = true;
      this.notify();
      this.commit(last).then(
        () => {
          this.committing = false;
          this.pump();
        },
        (err: unknown) => {
          this.committing = false;
          this.fail(err);
          this.pump();
        },
      );
      return;
    }
    if (this.entries.length > 0 && this.entries[0].state === "failed") {
      this.fail(this.entries[0].error);
      this.pump();
      return;
    }
    this.notify();
  }

  private fail(error: unknown): void {
    if (this.failed !== undefined) return;
    this.failed = { error };
    this.onFailure(error);
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}
