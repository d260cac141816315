/**
 * Zombie protection. A sidecar that was frozen (SIGSTOP, a VM pause, a stuck
 * event loop) for longer than the router waits before declaring it dead may
 * wake up after its stages moved elsewhere. It must not deliver on its old
 * routing table then: the fence trips, every delivery is refused
 * (STALE_GENERATION, retried later, so nothing is lost and nothing acked), and
 * the sidecar registers again. The next routing table from the router — sent
 * in full on every new heartbeat stream — lifts the fence.
 *
 * A pause is seen in two ways: the ticker's own gap, and a check on the data
 * path itself, because after a long stop the event loop may run I/O callbacks
 * (a source batch, say) before the ticker's timer.
 */
import { ConveyorError } from "../src/errors";

export interface PauseFenceOptions {
  /** A gap longer than this between ticks is a pause. */
  limitMs: number;
  /** Called once when the fence trips. */
  onTrip(pausedMs: number): void;
  tickMs?: number;
  now?: () => number;
}

export class PauseFence {
  private lastTickMs: number;
  private trippedAt: { pausedMs: number } | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly opts: PauseFenceOptions) {
    this.now = opts.now ?? Date.now;
    this.lastTickMs = this.now();
    this.timer = setInterval(() => this.tick(), opts.tickMs ?? 250);
    this.timer.unref();
  }

  get tripped(): boolean {
    return this.trippedAt !== undefined;
  }

  /** Throws STALE_GENERATION while the fence is up (including when this call is the first to see the pause). */
  check(): void {
    this.tick();
    if (this.trippedAt) {
      throw new ConveyorError(
        "STALE_GENERATION",
        `this sidecar was paused for ${Math.round(this.trippedAt.pausedMs / 1000)} s, long enough for the router ` +
          "to move its stages; delivery is fenced until the router sends the current routing table",
      );
    }
  }

  /** The router confirmed the current routing: deliver again. */
  lift(): void {
    this.trippedAt = undefined;
    this.lastTickMs = this.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = this.now();
    const gap = now - this.lastTickMs;
    this.lastTickMs = now;
    if (gap > this.opts.limitMs && !this.trippedAt) {
      this.trippedAt = { pausedMs: gap };
      this.opts.onTrip(gap);
    }
  }
}
