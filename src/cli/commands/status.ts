/**
 * `conveyor status`: what the router knows — pipelines, sidecars, assignments —
 * as three tables, or one JSON object with --json. Exit status 2 when the
 * router cannot be reached (one line on stderr), 1 on any other error.
 */
import { Command } from "commander";
import { asConveyorError } from "../../errors";
import type { AssignmentInfo__Output } from "../../generated/conveyor/v1/AssignmentInfo";
import type { PipelineSummary__Output } from "../../generated/conveyor/v1/PipelineSummary";
import type { SidecarInfo__Output } from "../../generated/conveyor/v1/SidecarInfo";
import { stageKindFromProto } from "../../stages/contract";
import { AdminApi, routerAddress } from "../admin-client";
import { formatSection } from "../table";

interface StatusOptions {
  router?: string;
  json?: boolean;
}

export interface RouterStatus {
  pipelines: PipelineSummary__Output[];
  sidecars: SidecarInfo__Output[];
  assignments: AssignmentInfo__Output[];
}

export async function fetchStatus(api: AdminApi): Promise<RouterStatus> {
  const [pipelines, sidecars, assignments] = await Promise.all([
    api.listPipelines(),
    api.listSidecars(),
    api.listAssignments(),
  ]);
  return {
    pipelines: pipelines.pipelines,
    sidecars: sidecars.sidecars,
    assignments: assignments.assignments,
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
      "ASSIGNMENTS",
      ["PIPELINE", "STAGE", "KIND", "SIDECAR", "GENERATION"],
      status.assignments.map((a) => [
        a.pipeline,
        a.stage,
        stageKindFromProto(a.kind) ?? "?",
        a.sidecarId,
        String(a.generation),
      ]),
    ),
  ].join("\n");
}

function ago(ms: number): string {
  const secs = Math.max(0, Math.round(ms / 1000));
  if (secs < 120) return `${secs}s ago`;
  if (secs < 7200) return `${Math.round(secs / 60)}m ago`;
  return `${Math.round(secs / 3600)}h ago`;
}

export function statusCommand(): Command {
  return new Command("status")
    .description("show the router's pipelines, sidecars and assignments")
    .option("--router <host:port>", "router Admin address (default: $CONVEYOR_ROUTER or 127.0.0.1:7070)")
    .option("--json", "print one JSON object {pipelines, sidecars, assignments}")
    .action(async function (this: Command, options: StatusOptions) {
      const api = new AdminApi(routerAddress(options.router));
      try {
        const status = await fetchStatus(api);
        process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
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
