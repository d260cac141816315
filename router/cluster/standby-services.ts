/**
 * What a router that is not the leader answers, and the switch between that
 * and the leader's term (cluster-router.ts).
 *
 *   Router.Register / Heartbeat / Deregister ─▶ NOT_LEADER "not leader, leader is X"
 *                                               (+ conveyor-leader: X trailer), so sidecars move at once
 *   Admin.*  ─▶ forwarded to the leader, metadata and deadline included; no leader known ─▶ NOT_LEADER
 *
 * Forwarding is generic over the service definition: the request is
 * re-serialized with the method's own serializer, so every Admin method
 * (reads and writes) behaves exactly as on the leader.
 */
import * as grpc from "@grpc/grpc-js";
import { notLeaderStatus } from "../../src/grpc/leader-hint";
import { CHANNEL_OPTIONS } from "../../src/proto";

type Handler = (call: unknown, callback?: unknown) => void;
type Implementation = Record<string, Handler>;

/** Handlers that pick the implementation per call (the term's while leading, the standby's otherwise). */
export function switchable(
  definition: grpc.ServiceDefinition,
  pick: () => Promise<grpc.UntypedServiceImplementation>,
): grpc.UntypedServiceImplementation {
  const out: Implementation = {};
  for (const method of Object.keys(definition)) {
    out[method] = (call, callback) => {
      void pick().then((impl) => (impl as unknown as Implementation)[method]!(call, callback));
    };
  }
  return out as unknown as grpc.UntypedServiceImplementation;
}

/** The Router service of a standby: every call refused with the leader's address. */
export function standbyRouter(
  definition: grpc.ServiceDefinition,
  leader: () => string | undefined,
): grpc.UntypedServiceImplementation {
  const out: Implementation = {};
  for (const [method, def] of Object.entries(definition)) {
    out[method] = def.requestStream
      ? (call) => {
          // A bidi stream (Heartbeat): end it with the status at once.
          (call as grpc.ServerDuplexStream<unknown, unknown>).emit("error", notLeaderStatus(leader()));
        }
      : (_call, callback) => (callback as grpc.sendUnaryData<unknown>)(notLeaderStatus(leader()));
  }
  return out as unknown as grpc.UntypedServiceImplementation;
}

export interface Forwarder {
  implementation: grpc.UntypedServiceImplementation;
  close(): void;
}

/** Unary methods forwarded to the leader (the caller's metadata and deadline go along). */
export function forwardToLeader(
  definition: grpc.ServiceDefinition,
  leader: () => string | undefined,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  defaultDeadlineMs = 10_000,
): Forwarder {
  const clients = new Map<string, grpc.Client>();
  const clientFor = (address: string): grpc.Client => {
    let c = clients.get(address);
    if (c === undefined) {
      c = new grpc.Client(address, credentials, CHANNEL_OPTIONS);
      clients.set(address, c);
    }
    return c;
  };
  const out: Implementation = {};
  for (const [method, def] of Object.entries(definition)) {
    out[method] = (rawCall, rawCallback) => {
      const call = rawCall as grpc.ServerUnaryCall<unknown, unknown>;
      const callback = rawCallback as grpc.sendUnaryData<unknown>;
      const address = leader();
      if (address === undefined || def.requestStream || def.responseStream) {
        callback(notLeaderStatus(address));
        return;
      }
      const deadline = call.getDeadline();
      const until =
        deadline instanceof Date || (typeof deadline === "number" && Number.isFinite(deadline))
          ? deadline
          : new Date(Date.now() + defaultDeadlineMs);
      clientFor(address).makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        call.request,
        forwardedMetadata(call.metadata),
        { deadline: until },
        (err, res) => (err ? callback(err) : callback(null, res)),
      );
    };
  }
  return {
    implementation: out as unknown as grpc.UntypedServiceImplementation,
    close: () => {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}

/** Headers of the transport, which the outgoing call sets itself. */
const TRANSPORT_HEADERS = [
  "user-agent",
  "content-type",
  "te",
  "grpc-accept-encoding",
  "grpc-encoding",
  "grpc-timeout",
];

function forwardedMetadata(incoming: grpc.Metadata): grpc.Metadata {
  const md = incoming.clone();
  for (const key of TRANSPORT_HEADERS) md.remove(key);
  return md;
}
