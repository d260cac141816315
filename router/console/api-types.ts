/**
 * The JSON the console's /api answers (docs/console.md). Types only: the page (console/app.ts)
 * imports them too, so the server and the page cannot disagree.
 */
import type { DeadLetterJson } from "../../src/dlq/dead-letters";

export type ConsoleStageKind = "source" | "transform" | "sink";

export interface ConsoleOverview {
  nowMs: number;
  /** The router's table generation (the version every sidecar should report). */
  generation: number;
  deadAfterMs: number;
  /** Whether this request may replay dead letters (it sent the console's admin token). */
  canWrite: boolean;
  /** Whether the router was started with an admin token at all. */
  writesConfigured: boolean;
  pipelines: ConsolePipeline[];
  sidecars: ConsoleSidecar[];
}

export interface ConsolePipeline {
  name: string;
  /** ready | pending */
  state: string;
  reasons: string[];
  stages: ConsoleStage[];
}

export interface ConsoleStage {
  name: string;
  index: number;
  kind: ConsoleStageKind;
  /** "file", "mirror", … for built-ins; "" for user services. */
  builtin: string;
  deadLetter: boolean;
  /** running | error */
  state: string;
  /** Records reach this stage over a peer hop (by placement, or seen in the last minute). */
  peerHopIn: boolean;
  recordsIn: number;
  recordsOut: number;
  errors: number;
  dlqCount: number;
  bytesIn: number;
  inFlight: number;
  windowSecs: number;
  rateIn: number;
  rateOut: number;
  errorRate: number;
  dlqRate: number;
  bytesInRate: number;
  /** 0..1 */
  peerShare: number;
  /** null when nothing was measured in the window. */
  p99Ms: number | null;
  lastError: string;
  instances: ConsoleInstance[];
  recentErrors: ConsoleStageError[];
  /** A `builtin: mirror` source: each mirror on each live sidecar running it; empty otherwise. */
  mirrors: ConsoleMirror[];
}

/** One mirror of a `builtin: mirror` source (SidecarStatus.stages[].mirrors). null: not known yet. */
export interface ConsoleMirror {
  sidecarId: string;
  name: string;
  topic: string;
  partition: number;
  sourceHigh: number | null;
  destNext: number | null;
  /** sourceHigh − destNext (records not yet in the destination); null unless both are known. */
  lag: number | null;
  /** Since the last durable flush, at the router's nowMs; null before the first. */
  lastFlushAgeMs: number | null;
  /** starting | running | stopping | stopped | failed */
  state: string;
  error: string;
}

export interface ConsoleInstance {
  sidecarId: string;
  podName: string;
  /** The table generation in which this instance last changed. */
  generation: number;
  partitions: number[];
  /** alive | dead | fenced | unknown (not registered) */
  state: string;
  rateIn: number;
}

export interface ConsoleStageError {
  sidecarId: string;
  code: string;
  message: string;
  recordId: string;
  attempt: number;
  timeMs: number;
  records: number;
}

export interface ConsoleSidecar {
  id: string;
  podName: string;
  namespace: string;
  peerAddress: string;
  /**
   * alive | dead | fenced. Fenced: it speaks again but may not deliver — it came back after the
   * router presumed it dead and moved its stages, and has not reported the table that did so yet
   * (peers refuse its batches as STALE_GENERATION), or its own pause fence is up.
   */
  state: string;
  /** Why it is fenced ("" unless state is fenced). */
  fenceReason: string;
  /** Since when it is fenced (router clock, ms); null unless state is fenced. */
  fencedSinceMs: number | null;
  /** Alive but on an older routing table than the router's. */
  behind: boolean;
  heartbeatAgeMs: number;
  routingVersion: number;
  services: Array<{
    stageName: string;
    kind: ConsoleStageKind | "unknown";
    endpoint: string;
    service: string;
  }>;
}

/** One tapped record (an SSE `record` event of /api/tap). */
export interface ConsoleTapRecord {
  sidecarId: string;
  id: string;
  key: string;
  headers: { [key: string]: string };
  /** The value as UTF-8 text, cut to a preview. */
  valuePreview: string;
  valueBytes: number;
  eventTimeMs: number;
}

export interface ConsoleDeadLetters {
  pipeline: string;
  /** Where the router read them (the dead-letter sink's config.dir). */
  dir: string;
  /** Set when the router cannot read them; letters is empty then. */
  unavailable?: string;
  /**
   * How many dead letters match (the stage filter), over every page, when totalExact; otherwise at
   * least that many (the read stopped short of the end: more than this page, so a next page exists).
   */
  total: number;
  /** The read reached the end of the files, so `total` is every match (docs/console.md, Paging). */
  totalExact: boolean;
  /** This page: letters[0] is the offset-th match, oldest first; at most limit of them. */
  offset: number;
  limit: number;
  letters: DeadLetterJson[];
}

export interface ConsoleReplayResult {
  sidecar: string;
  skipped: number;
  outcomes: Array<{
    id: string;
    ts: string;
    stage: string;
    outcome: "delivered" | "failed";
    code?: string;
    reason?: string;
  }>;
}
