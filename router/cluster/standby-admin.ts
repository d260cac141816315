/**
 * The Admin service of a standby: reads of committed state answered here,
 * from etcd; everything else forwarded to the leader (standby-services.ts).
 *
 *   ListPipelines, ListAssignments ─▶ a linearizable read of <prefix>state ─▶ committed-views.ts
 *                                      └ etcd unreachable ─▶ forwarded (the leader answers from memory)
 *   ApplyPipeline, DeletePipeline  ─▶ forwarded: only the leader commits
 *   ListSidecars, GetPipelineStatus ─▶ forwarded: liveness and counters come with heartbeats, which
 *                                      only the leader receives
 */
import type * as grpc from "@grpc/grpc-js";
import { ConveyorError } from "../../src/errors";
import type { AdminHandlers } from "../../src/generated/conveyor/v1/Admin";
import type { Logger } from "../../src/telemetry/log";
import { unary } from "../admin-server";
import type { RouterState } from "../store/store";
import { committedAssignments, committedPipelines } from "./committed-views";

export interface StandbyAdminOptions {
  /** The committed state (EtcdStore.read). */
  read(): Promise<RouterState | undefined>;
  /** For errors: where the state comes from ("etcd:…"). */
  source: string;
  /** The forwarding implementation of every Admin method. */
  forwarded: grpc.UntypedServiceImplementation;
  log: Logger;
}

/** Which Admin methods a standby answers itself. */
export const STANDBY_READS = ["ListPipelines", "ListAssignments"] as const;

export function standbyAdmin(options: StandbyAdminOptions): grpc.UntypedServiceImplementation {
  const { read, source, log } = options;
  const forwarded = options.forwarded as unknown as AdminHandlers;
  /** A read served from etcd; with etcd unreachable, the leader's answer instead. */
  const local =
    <Req, Res>(
      method: (typeof STANDBY_READS)[number],
      answer: (state: RouterState | undefined, req: Req) => Res,
    ): grpc.handleUnaryCall<Req, Res> =>
    (call, callback) => {
      read().then(
        (state) => unary(log, method, (req: Req) => answer(state, req))(call, callback),
        (err: unknown) => {
          if (!(err instanceof ConveyorError && err.code === "STORE_UNAVAILABLE")) {
            unary(log, method, () => Promise.reject(err))(call, callback);
            return;
          }
          log.debug({ method, err: err.message }, "etcd unreachable; forwarding the read to the leader");
          (forwarded[method] as unknown as grpc.handleUnaryCall<Req, Res>)(call, callback);
        },
      );
    };
  const handlers: AdminHandlers = {
    ...forwarded,
    ListPipelines: local("ListPipelines", (state) => committedPipelines(state, source)),
    ListAssignments: local("ListAssignments", (state, req: { pipeline?: string }) =>
      committedAssignments(state, source, req.pipeline ?? ""),
    ),
  };
  return handlers as unknown as grpc.UntypedServiceImplementation;
}
