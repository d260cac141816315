/**
 * conveyor.v1.Admin: the operator API (conveyor apply/status, grpcurl). Reads
 * come from the scheduler's committed plan and the membership registry;
 * writes go through the scheduler, which validates nothing itself — a
 * definition is parsed here, completely, before anything is applied.
 */
import type * as grpc from "@grpc/grpc-js";
import { parseReceivedPipeline } from "../src/config/pipeline";
import { ConveyorError, toGrpcStatus } from "../src/errors";
import type { AdminHandlers } from "../src/generated/conveyor/v1/Admin";
import type { AssignmentInfo } from "../src/generated/conveyor/v1/AssignmentInfo";
import type { SidecarInfo } from "../src/generated/conveyor/v1/SidecarInfo";
import type { ServiceBinding } from "../src/grpc/server";
import { SERVICE, v1 } from "../src/proto";
import { STAGE_KIND_TO_PROTO } from "../src/stages/contract";
import type { Logger } from "../src/telemetry/log";
import type { Membership } from "./membership";
import { pipelineStatus } from "./pipeline-status";
import type { PipelineView, Scheduler } from "./scheduler";
import type { StatsWindow } from "./stats-window";

export interface AdminServerOptions {
  scheduler: Scheduler;
  membership: Membership;
  /** The last minute of the sidecars' counters, for rates in GetPipelineStatus. */
  stats?: StatsWindow;
  log: Logger;
}

export function adminService(options: AdminServerOptions): ServiceBinding {
  const { scheduler, membership, stats, log } = options;

  const pipelineOrThrow = (name: string): PipelineView => {
    const view = scheduler.pipelineView(name);
    if (view === undefined)
      throw new ConveyorError("PIPELINE_NOT_FOUND", `no pipeline named "${name}"`, { pipeline: name });
    return view;
  };

  const handlers: AdminHandlers = {
    ApplyPipeline: unary(log, "ApplyPipeline", async (req) => {
      // Throws CONFIG_INVALID listing every problem; nothing is applied then. Never interpolated with
      // the router's environment: a ${VAR} left in it is one of the problems (see parseReceivedPipeline).
      const spec = parseReceivedPipeline(req.definition, "pipeline");
      const result = await scheduler.applyPipeline(spec);
      return { name: spec.name, created: result.created, generation: result.generation };
    }),

    DeletePipeline: unary(log, "DeletePipeline", async (req) => {
      await scheduler.deletePipeline(req.name);
      return { deleted: true };
    }),

    ListPipelines: unary(log, "ListPipelines", () => ({
      pipelines: scheduler.pipelineViews().map((p) => ({
        name: p.name,
        stages: p.placement.stages.map((s) => s.name),
        definitionJson: p.definitionJson,
        state: p.placement.state,
      })),
    })),

    ListSidecars: unary(log, "ListSidecars", () => ({
      sidecars: membership.all().map((s): SidecarInfo => ({
        sidecarId: s.id,
        podName: s.podName,
        namespace: s.namespace,
        peerAddress: s.peerAddress,
        services: s.services,
        lastHeartbeatMs: s.lastHeartbeatMs,
        state: s.state,
        routingVersion: s.routingVersion,
      })),
    })),

    ListAssignments: unary(log, "ListAssignments", (req) => {
      if (req.pipeline !== "") pipelineOrThrow(req.pipeline);
      // What the routing table publishes; a hand-off's pending part is marked, never listed as placed.
      const assignments = scheduler
        .placementViews()
        .filter((v) => req.pipeline === "" || v.assignment.pipeline === req.pipeline)
        .map((v): AssignmentInfo => ({
          pipeline: v.assignment.pipeline,
          stage: v.assignment.stage,
          stageIndex: v.assignment.stageIndex,
          kind: STAGE_KIND_TO_PROTO[v.assignment.kind],
          sidecarId: v.assignment.sidecarId,
          generation: v.generation,
          partitions: v.partitions,
          placement: v.placement,
          pendingPartitions: v.pendingPartitions,
          pendingFrom: v.pendingFrom,
        }))
        .sort(byPipelineStageSidecar);
      return { assignments, generation: scheduler.generation };
    }),

    GetPipelineStatus: unary(log, "GetPipelineStatus", (req) =>
      pipelineStatus(pipelineOrThrow(req.name), membership.all(), stats, Date.now()),
    ),
  };

  return { name: SERVICE.admin, definition: v1.Admin.service, implementation: handlers };
}

/** The order ListAssignments answers in (the leader's and a standby's alike). */
export function byPipelineStageSidecar(x: AssignmentInfo, y: AssignmentInfo): number {
  return (
    compare(x.pipeline, y.pipeline) ||
    (x.stageIndex ?? 0) - (y.stageIndex ?? 0) ||
    compare(x.sidecarId, y.sidecarId)
  );
}

/** A unary handler whose errors become gRPC statuses at this edge, and only here. */
export function unary<Req, Res>(
  log: Logger,
  method: string,
  fn: (req: Req) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          // An INTERNAL error is logged in full by toGrpcStatus, under the reference the client sees.
          const status = toGrpcStatus(err, log.child({ method }));
          if (err instanceof ConveyorError && err.code !== "INTERNAL")
            log.debug({ method, code: err.code }, "Admin request refused");
          callback(status);
        },
      );
  };
}

function compare(a = "", b = ""): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
