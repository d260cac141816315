/** DataPlane.Tap: listeners that get a sample of the records entering a stage here. */
import type { Record } from "../src/stages/contract";

type Listener = (records: Record[]) => void;

export class Taps {
  private readonly listeners = new Map<string, Set<Listener>>();

  get active(): boolean {
    return this.listeners.size > 0;
  }

  add(pipeline: string, stage: string, listener: Listener): () => void {
    const key = `${pipeline}\u0000${stage}`;
    let set = this.listeners.get(key);
    if (!set) {
      set = new Set();
      this.listeners.set(key, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(key);
    };
  }

  offer(pipeline: string, stage: string, records: Record[]): void {
    const set = this.listeners.get(`${pipeline}\u0000${stage}`);
    if (set) for (const l of set) l(records);
  }
}
