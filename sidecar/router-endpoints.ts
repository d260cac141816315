/**
 * Which router a sidecar talks to next (pure; router-client.ts does the calls).
 *
 *   CLUSTER_ENDPOINT=a:7070,b:7070,c:7070   (or one DNS name with several addresses)
 *
 *   Register on current ─ ok ───────────────────────────▶ stay (reset)
 *                       ├ NOT_LEADER, leader is X ──────▶ X at once (twice in a row at most, then back off)
 *                       ├ NOT_LEADER, no leader yet ────▶ next endpoint after a short backoff
 *                       └ unreachable ──────────────────▶ next endpoint at once; a full round
 *                                                         of failures backs off
 *
 * A hint names the leader by the address it advertises, which may be none of
 * the configured names (a pod IP behind a Service name): it is added to the list.
 */
import { Backoff } from "../src/backoff";

export type AttemptOutcome = { kind: "not-leader"; leader: string | undefined } | { kind: "unreachable" };

export interface NextAttempt {
  endpoint: string;
  delayMs: number;
}

/** Hints followed in a row without a pause: a stale hint cannot make the sidecar spin. */
const MAX_HINTS_IN_A_ROW = 2;

/** `a:7070, b:7070,a:7070` → ["a:7070", "b:7070"]; throws on an entry that is not host:port. */
export function parseEndpointList(spec: string): string[] {
  const out: string[] = [];
  for (const raw of spec.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):\d{1,5}$/.test(entry))
      throw new Error(`"${entry}" is not host:port (CLUSTER_ENDPOINT takes host:port,host:port,…)`);
    if (!out.includes(entry)) out.push(entry);
  }
  if (out.length === 0) throw new Error("CLUSTER_ENDPOINT names no router (host:port,host:port,…)");
  return out;
}

export class RouterEndpoints {
  private list: string[];
  private index = 0;
  private failedInRound = 0;
  private hintsInARow = 0;
  private readonly backoff: Backoff;

  constructor(
    endpoints: string[],
    backoff: { baseMs: number; maxMs: number } = { baseMs: 100, maxMs: 2000 },
  ) {
    if (endpoints.length === 0) throw new Error("no router endpoint");
    this.list = [...endpoints];
    this.backoff = new Backoff(backoff.baseMs, backoff.maxMs);
  }

  get current(): string {
    return this.list[this.index]!;
  }

  get all(): readonly string[] {
    return this.list;
  }

  /** The current endpoint took the sidecar (it is the leader). */
  succeeded(): void {
    this.failedInRound = 0;
    this.hintsInARow = 0;
    this.backoff.reset();
  }

  /** A call to the current endpoint failed: where to try next, and after how long. */
  failed(outcome: AttemptOutcome): NextAttempt {
    if (outcome.kind === "not-leader" && outcome.leader !== undefined && outcome.leader !== this.current) {
      if (this.hintsInARow < MAX_HINTS_IN_A_ROW) {
        this.hintsInARow++;
        this.moveTo(outcome.leader);
        return { endpoint: this.current, delayMs: 0 };
      }
      this.moveTo(outcome.leader);
      return this.pause();
    }
    this.advance();
    if (outcome.kind === "not-leader") return this.pause();
    this.failedInRound++;
    if (this.failedInRound >= this.list.length) return this.pause();
    return { endpoint: this.current, delayMs: 0 };
  }

  /** A fresh DNS answer: the new addresses, keeping the current one when it is still among them. */
  replace(endpoints: string[]): void {
    if (endpoints.length === 0) return;
    const current = this.current;
    this.list = [...new Set(endpoints)];
    const i = this.list.indexOf(current);
    this.index = i >= 0 ? i : 0;
  }

  private pause(): NextAttempt {
    this.failedInRound = 0;
    this.hintsInARow = 0;
    return { endpoint: this.current, delayMs: this.backoff.next() };
  }

  private advance(): void {
    this.index = (this.index + 1) % this.list.length;
  }

  private moveTo(endpoint: string): void {
    let i = this.list.indexOf(endpoint);
    if (i < 0) {
      this.list.push(endpoint);
      i = this.list.length - 1;
    }
    this.index = i;
  }
}
