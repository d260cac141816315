/**
 * `ordering: key`: at most one record per key in flight. Pure logic, no I/O.
 *
 *   admit(items) ──▶ the items whose key is free (keyless ones always) go now;
 *                    the rest wait behind their key, in arrival order
 *   release(key) ──▶ the key's next waiting item, or nothing (the key is free)
 *
 * A record enters the pipeline only once the record of its key before it was
 * confirmed by the sink (or dead-lettered), so every stage sees a key's records
 * in source order whatever the retries, the instances a key is routed to, or a
 * move of the key between instances: nothing of the key is in flight anywhere
 * when the next one starts. A record whose stream ends while it waits is read
 * again by the next session, in order, after the last acked cursor.
 */
export class KeyGate<T> {
  /** Keys with a record in flight → the items waiting behind it. */
  private readonly busy = new Map<string, T[]>();

  constructor(private readonly keyOf: (item: T) => string) {}

  /** Keys with a record in flight. */
  get size(): number {
    return this.busy.size;
  }

  admit(items: readonly T[]): T[] {
    const ready: T[] = [];
    for (const item of items) {
      const key = this.keyOf(item);
      if (key === "") {
        ready.push(item);
        continue;
      }
      const waiting = this.busy.get(key);
      if (waiting) waiting.push(item);
      else {
        this.busy.set(key, []);
        ready.push(item);
      }
    }
    return ready;
  }

  /** The item of `key` in flight is done: its next waiting item (now in flight), if any. */
  release(item: T): T | undefined {
    const key = this.keyOf(item);
    if (key === "") return undefined;
    const waiting = this.busy.get(key);
    const next = waiting?.shift();
    if (next === undefined) this.busy.delete(key);
    return next;
  }
}
