/**
 * The default store: state lives as long as the process. A restarted router
 * starts empty and sidecars re-register (their heartbeats get NOT_FOUND).
 */
import type { RouterState, RouterStore } from "./store";

export class MemoryStore implements RouterStore {
  readonly description = "memory";
  private state: RouterState | undefined;

  async load(): Promise<RouterState | undefined> {
    // A copy, so that the caller can never mutate what is "saved".
    return this.state === undefined ? undefined : structuredClone(this.state);
  }

  async save(state: RouterState): Promise<void> {
    this.state = structuredClone(state);
  }
}
