/**
 * What the router persists, and the contract every store implements. The
 * router keeps everything in memory and writes the whole state after each
 * change; a store only has to load it back after a restart.
 *
 * The generation is persisted so that a restarted router never hands out an
 * older generation than sidecars have already seen (they fence on it), and the
 * assignments are persisted so that a restarted router gives every returning
 * sidecar the stages it ran before (stickiness), instead of moving sources.
 */

export interface StoredPipeline {
  name: string;
  /** The PipelineSpec as JSON text, exactly as applied (after interpolation). */
  definition: string;
}

export interface StoredAssignment {
  pipeline: string;
  stage: string;
  stageIndex: number;
  sidecarId: string;
  /** Source partitions owned by the sidecar (empty for everything else). */
  partitions: number[];
  /** Generation at which this assignment was (re)made. */
  generation: number;
}

/** One generation stamp of a routing table: the pipeline's or a stage instance's, and what it stamped. */
export interface StoredStamp {
  /** The pipeline, or the pipeline, stage and sidecar of an instance (JSON). */
  id: string;
  /** The route or instance it stamped, as JSON: the generation is kept while this stays the same. */
  key: string;
  generation: number;
}

/**
 * The routing table of a commit as the sidecars got it, and its stamps. A restarted router (or a new
 * leader) sends it to sidecars that come back while it waits for the others, and keeps the
 * generations of what did not change, so sidecars that routed on it through the outage see no change
 * (scheduler.ts, "settling").
 */
export interface StoredTable {
  /** A conveyor.v1.RoutingTable as JSON (numbers for its 64-bit fields). */
  table: { version: number; generation: number; pipelines: unknown[] };
  stamps: StoredStamp[];
}

/** A source unit planned for a new owner but withheld from the table until the old owner lets go. */
export interface StoredHandoff {
  pipeline: string;
  stage: string;
  /** -1 for an unpartitioned source. */
  partition: number;
  from: string;
  to: string;
}

export interface RouterState {
  generation: number;
  pipelines: StoredPipeline[];
  assignments: StoredAssignment[];
  /**
   * The hand-offs waiting at this commit, so that a standby's ListAssignments
   * marks the same units pending as the leader's. Absent in states written
   * before it existed (read as none); the leader recomputes its own from the
   * sidecars' claims and never reads this back.
   */
  handoffs?: StoredHandoff[];
  /** The table of this commit (absent in states written before it existed: no settling then). */
  table?: StoredTable;
}

export interface RouterStore {
  /** Human-readable location, for logs ("memory", "file:/var/lib/conveyor/router.json"). */
  readonly description: string;
  /** The last saved state, or undefined when nothing was ever saved. */
  load(): Promise<RouterState | undefined>;
  /** Replaces the saved state; resolves once it is durable. */
  save(state: RouterState): Promise<void>;
}
