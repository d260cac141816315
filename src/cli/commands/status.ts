/**
 * `conveyor status`: what the router knows — pipelines, sidecars, stages (rates over the last
 * minute, totals, in-flight, p99), assignments — as tables, or one JSON object with --json;
 * --watch prints it again every few seconds (in place on a terminal). Exit status 2 when the
 * router cannot be reached (one line on stderr), 1 on any other error.
 */
import { Command } from "commander";
import { asConveyorError } from "../../errors";
import type { AssignmentInfo__Output } from "../../generated/conveyor/v1/AssignmentInfo";
import type { PipelineSummary__Output } from "../../generated/conveyor/v1/PipelineSummary";
import type { PipelineStatus__Output } from "../../generated/conveyor/v1/PipelineStatus";
import type { SidecarInfo__Output } from "../../generated/conveyor/v1/SidecarInfo";
import { stageKindFromProto } from "../../stages/contract";
import type { ClientSecurityConfig } from "../../config/env";
import { AdminApi, DEFAULT_ADMIN_TIMEOUT_MS, routerAddress } from "../admin-client";
import { clientConnection, withClientSecurity } from "../client-credentials";
import { formatLatency, formatRate } from "../stage-figures";
import { formatSection } from "../table";

interface StatusOptions extends ClientSecurityConfig {
  router?: string;
  json?: boolean;
  watch?: boolean;
  interval: number;
}

export interface RouterStatus {
  pipelines: PipelineSummary__Output[];
  sidecars: SidecarInfo__Output[];
  assignments: AssignmentInfo__Output[];
  /** Per pipeline: every stage's counters, summed over the sidecars that ran it. */
  stages: PipelineStatus__Output[];
}

export async function fetchStatus(api: AdminApi): Promise<RouterStatus> {
  const [pipelines, sidecars, assignments] = await Promise.all([
    api.listPipelines(),
    api.listSidecars(),
    api.listAssignments(),
  ]);
  const stages = await Promise.all(pipelines.pipelines.map((p) => api.getPipelineStatus(p.name)));
  return {
    pipelines: pipelines.pipelines,
    sidecars: sidecars.sidecars,
    assignments: assignments.assignments,
    stages,
  };
}

export function formatStatus(status: RouterStatus, nowMs: number = Date.now()): string {
  return [
    formatSection(
      "PIPELINES",
      ["NAME", "STATE", "STAGES"],
      status.pipelines.map((p) => [p.name, p.state, p.stages.join(" -> ")]),
    ),
    formatSection(
      "SIDECARS",
      ["ID", "POD", "ADDRESS", "STATE", "SERVICES", "LAST-HEARTBEAT"],
      status.sidecars.map((s) => [
        s.sidecarId,
        s.podName,
        s.peerAddress,
        s.state,
        s.services.map((svc) => `${stageKindFromProto(svc.kind) ?? "?"}:${svc.stageName}`).join(",") || "-",
        ago(nowMs - s.lastHeartbeatMs),
      ]),
    ),
    formatSection(
      "STAGES",
      [
        "PIPELINE",
        "STAGE",
        "KIND",
        "STATE",
        "IN/S",
        "OUT/S",
        "IN",
        "OUT",
        "ERRORS",
        "DLQ",
        "IN-FLIGHT",
        "P99",
        "LAST-ERROR",
      ],
      status.stages.flatMap((p) =>
        p.stages.map((s) => [
          p.name,
          s.stage,
          stageKindFromProto(s.kind) ?? "?",
          s.state || "running",
          formatRate(s.rateIn),
          formatRate(s.rateOut),
          String(s.recordsIn),
          String(s.recordsOut),
          String(s.errors),
          String(s.dlqCount),
          String(s.inFlight),
          formatLatency(s.p99Ms, s.latencySamples),
          s.lastError ? truncate(s.lastError, 80) : "-",
        ]),
      ),
    ),
    formatSection(
      "ASSIGNMENTS",
      ["PIPELINE", "STAGE", "KIND", "SIDECAR", "GENERATION", "PARTITIONS", "PLACEMENT"],
      status.assignments.map((a) => [
        a.pipeline,
        a.stage,
        stageKindFromProto(a.kind) ?? "?",
        a.sidecarId,
        String(a.generation),
        a.partitions.join(",") || "-",
        placementOf(a),
      ]),
    ),
  ].join("\n");
}

/**
 * "published" (in the table the sidecars route on), or what a source hand-off still withholds:
 * "intended (pending 2,3 from a)" when nothing of the row is published yet, "published (pending 3 from a)".
 */
function placementOf(a: AssignmentInfo__Output): string {
  const placement = a.placement || "published"; // routers before the field published what they listed
  if (a.pendingPartitions.length === 0 && a.pendingFrom.length === 0) return placement;
  const what = a.pendingPartitions.length > 0 ? `${a.pendingPartitions.join(",")} ` : "";
  return `${placement} (pending ${what}from ${a.pendingFrom.join(",")})`;
}

function truncate(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ");
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

function ago(ms: number): string {
  const secs = Math.max(0, Math.round(ms / 1000));
  if (secs < 120) return `${secs}s ago`;
  if (secs < 7200) return `${Math.round(secs / 60)}m ago`;
  return `${Math.round(secs / 3600)}h ago`;
}

export function statusCommand(): Command {
  return withClientSecurity(new Command("status"))
    .description(
      "show the router's pipelines, sidecars, stage counters (errors, dead letters) and assignments",
    )
    .option("--router <host:port>", "router Admin address (default: $CONVEYOR_ROUTER or 127.0.0.1:7070)")
    .option("--json", "print one JSON object {pipelines, sidecars, assignments, stages}")
    .option("--watch", "print it again every --interval seconds until interrupted")
    .option("--interval <secs>", "with --watch: seconds between refreshes", Number, 2)
    .action(async function (this: Command, options: StatusOptions) {
      const api = new AdminApi(
        routerAddress(options.router),
        DEFAULT_ADMIN_TIMEOUT_MS,
        clientConnection(options),
      );
      const print = async (): Promise<void> => {
        const status = await fetchStatus(api);
        const text = options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status);
        // On a terminal, redraw in place; otherwise one block after the other.
        if (options.watch && process.stdout.isTTY) process.stdout.write(`\x1b[H\x1b[2J${text}`);
        else process.stdout.write(options.watch ? `${new Date().toISOString()}\n${text}\n` : text);
      };
      try {
        await print();
        if (options.watch) {
          const ms = Math.max(0.2, options.interval) * 1000;
          for (;;) {
            await new Promise((r) => setTimeout(r, ms));
            await print();
          }
        }
      } catch (err) {
        const e = asConveyorError(err);
        const unreachable = e.code === "ROUTER_UNAVAILABLE";
        this.error(`conveyor status: ${e.message}`, {
          exitCode: unreachable ? 2 : 1,
          code: unreachable ? "conveyor.status.unreachable" : "conveyor.status.failed",
        });
      } finally {
        api.close();
      }
    });
}
