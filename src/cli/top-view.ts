/**
 * What `conveyor top` draws: one row per pipeline stage with the router's one-minute figures
 * (GetPipelineStatus), sorted by a key, rendered to fit the terminal. Pure: the command does the I/O.
 */
import type { StageStatusSummary__Output } from "../generated/conveyor/v1/StageStatusSummary";
import { stageKindFromProto } from "../stages/contract";
import type { RouterStatus } from "./commands/status";
import { formatBytesRate, formatLatency, formatRate, formatShare } from "./stage-figures";
import { formatTable } from "./table";

export type TopSortKey = "name" | "in" | "out" | "errors" | "dlq" | "inflight" | "p99";

/** The key that selects each sort (shown in the footer). */
export const SORT_KEYS: ReadonlyArray<[string, TopSortKey]> = [
  ["n", "name"],
  ["i", "in"],
  ["o", "out"],
  ["e", "errors"],
  ["d", "dlq"],
  ["f", "inflight"],
  ["l", "p99"],
];

export interface TopRow {
  pipeline: string;
  stage: StageStatusSummary__Output;
  /** The routing table versions of the sidecars running it ("v7", or "v6-v7" while they differ). */
  tables: string;
}

export function topRows(status: RouterStatus): TopRow[] {
  const versions = new Map(status.sidecars.map((s) => [s.sidecarId, s.routingVersion]));
  return status.stages.flatMap((p) =>
    p.stages.map((stage) => {
      const vs = stage.sidecars.map((id) => versions.get(id)).filter((v): v is number => v !== undefined);
      const lo = Math.min(...vs);
      const hi = Math.max(...vs);
      return {
        pipeline: p.name,
        stage,
        tables: vs.length === 0 ? "-" : lo === hi ? `v${lo}` : `v${lo}-v${hi}`,
      };
    }),
  );
}

export function sortRows(rows: readonly TopRow[], key: TopSortKey): TopRow[] {
  const byName = (a: TopRow, b: TopRow): number =>
    a.pipeline.localeCompare(b.pipeline) || a.stage.stageIndex - b.stage.stageIndex;
  const value = (r: TopRow): number => {
    switch (key) {
      case "name":
        return 0;
      case "in":
        return r.stage.rateIn;
      case "out":
        return r.stage.rateOut;
      case "errors":
        return r.stage.errorRate * 1e9 + r.stage.errors;
      case "dlq":
        return r.stage.dlqRate * 1e9 + r.stage.dlqCount;
      case "inflight":
        return r.stage.inFlight;
      case "p99":
        return r.stage.latencySamples > 0 ? r.stage.p99Ms : -1;
    }
  };
  return [...rows].sort((a, b) => value(b) - value(a) || byName(a, b));
}

export const TOP_HEADERS = [
  "PIPELINE",
  "STAGE",
  "KIND",
  "IN/S",
  "OUT/S",
  "BYTES/S",
  "ERRORS",
  "DLQ",
  "IN-FLIGHT",
  "P99",
  "PEER",
  "PODS",
  "TABLE",
];

export function topCells(r: TopRow): string[] {
  const s = r.stage;
  return [
    r.pipeline,
    s.stage,
    stageKindFromProto(s.kind) ?? "?",
    formatRate(s.rateIn),
    formatRate(s.rateOut),
    formatBytesRate(s.bytesInRate),
    s.errorRate > 0 ? `${s.errors} (${formatRate(s.errorRate)}/s)` : String(s.errors),
    String(s.dlqCount),
    String(s.inFlight),
    formatLatency(s.p99Ms, s.latencySamples),
    formatShare(s.peerShare),
    String(s.sidecars.length),
    r.tables,
  ];
}

/** The whole screen: a title, the table, a footer with the keys; lines cut to `columns`. */
export function renderTop(
  status: RouterStatus,
  key: TopSortKey,
  router: string,
  now: Date,
  columns = 120,
): string[] {
  const rows = sortRows(topRows(status), key);
  const alive = status.sidecars.filter((s) => s.state === "alive").length;
  const title = `conveyor top — router ${router} — ${status.pipelines.length} pipeline(s), ${alive}/${status.sidecars.length} sidecars alive — ${now.toISOString()}`;
  const table = rows.length === 0 ? "no pipelines\n" : formatTable(TOP_HEADERS, rows.map(topCells));
  const footer = `sort: ${key}   keys: ${SORT_KEYS.map(([k, v]) => `${k}=${v}`).join(" ")}   q quits   (rates over the last minute)`;
  return [title, "", ...table.replace(/\n$/, "").split("\n"), "", footer].map((l) =>
    l.length > columns ? l.slice(0, columns) : l,
  );
}
