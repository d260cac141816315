/**
 * "Not leader, leader is X": how a standby router tells a sidecar (or any
 * client) where the leader of the router cluster is. The status is NOT_LEADER
 * (gRPC UNAVAILABLE, code in the conveyor-error-code trailer) and the leader's
 * address rides in the `conveyor-leader` trailer; the details say the same in
 * words, and are the fallback a client parses when trailers are lost.
 */
import * as grpc from "@grpc/grpc-js";
import { CODE_METADATA_KEY, ConveyorError, toGrpcStatus } from "../errors";

export const LEADER_METADATA_KEY = "conveyor-leader";

/** The status a standby ends a Register/Heartbeat with. */
export function notLeaderStatus(leader: string | undefined): {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
} {
  const message =
    leader === undefined
      ? "not leader, no leader elected yet (the election is under way or etcd is unreachable)"
      : `not leader, leader is ${leader}`;
  const status = toGrpcStatus(new ConveyorError("NOT_LEADER", message, leader ? { leader } : {}));
  const metadata = status.metadata ?? new grpc.Metadata();
  if (leader !== undefined) metadata.set(LEADER_METADATA_KEY, leader);
  return { code: status.code, details: status.details, metadata };
}

export interface LeaderRefusal {
  /** The leader's address when the standby knows it. */
  leader: string | undefined;
}

const HINT_IN_DETAILS = /not leader, leader is (\S+)/;
const NOT_LEADER_IN_DETAILS = /^NOT_LEADER: /;

/** A NOT_LEADER refusal from an error a gRPC call failed with, or undefined for any other error. */
export function parseLeaderRefusal(err: {
  code?: number;
  details?: string;
  metadata?: grpc.Metadata;
}): LeaderRefusal | undefined {
  const code = err.metadata?.get(CODE_METADATA_KEY)[0];
  const details = err.details ?? "";
  if (code !== "NOT_LEADER" && !NOT_LEADER_IN_DETAILS.test(details)) return undefined;
  const fromMetadata = err.metadata?.get(LEADER_METADATA_KEY)[0];
  if (typeof fromMetadata === "string" && fromMetadata !== "") return { leader: fromMetadata };
  return { leader: HINT_IN_DETAILS.exec(details)?.[1] };
}
