/**
 * What a router that is not the leader answers, and the switch between that
 * and the leader's term (cluster-router.ts).
 *
 *   Router.Register / Heartbeat / Deregister ─▶ NOT_LEADER "not leader, leader is X"
 *                                               (+ conveyor-leader: X trailer), so sidecars move at once
 *   Admin reads of committed state ─▶ answered here from etcd (standby-admin.ts)
 *   Admin writes and live reads    ─▶ forwarded to the leader, metadata and deadline included;
 *                                     no leader known ─▶ NOT_LEADER
 *
 * Forwarding is generic over the service definition: the request is
 * re-serialized with the method's own serializer, so a forwarded method
 * behaves exactly as on the leader. The leader sees this router's
 * certificate, not the caller's: the caller was authorised here (same auth
 * config as the leader), so the call carries `conveyor-forwarded-role: admin`,
 * which the leader believes only from a router's certificate (identity.ts).
 * A caller's own forwarded-* headers are dropped first.
 */
import * as grpc from "@grpc/grpc-js";
import type { Auth } from "../../src/grpc/auth";
import { describeIdentity, FORWARDED_FOR_HEADER, FORWARDED_ROLE_HEADER } from "../../src/grpc/identity";
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
  /** Drops the channels: the next call dials afresh (after a certificate rotation). */
  renew(): void;
  close(): void;
}

export interface ForwardOptions {
  definition: grpc.ServiceDefinition;
  leader(): string | undefined;
  /** This router's own credentials (its router certificate under mTLS). */
  credentials?: grpc.ChannelCredentials;
  /** This router's auth: an authorised caller is vouched for to the leader. */
  auth?: Auth;
  defaultDeadlineMs?: number;
}

/** Unary methods forwarded to the leader (the caller's metadata and deadline go along). */
export function forwardToLeader(options: ForwardOptions): Forwarder {
  const { definition, leader, auth } = options;
  const credentials = options.credentials ?? grpc.credentials.createInsecure();
  const defaultDeadlineMs = options.defaultDeadlineMs ?? 10_000;
  const clients = new Map<string, grpc.Client>();
  const clientFor = (address: string): grpc.Client => {
    let c = clients.get(address);
    if (c === undefined) {
      // Its own connection, so that renew() reconnects with the current certificate.
      c = new grpc.Client(address, credentials, { ...CHANNEL_OPTIONS, "grpc.use_local_subchannel_pool": 1 });
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
        forwardedMetadata(call, auth),
        { deadline: until },
        (err, res) => (err ? callback(err) : callback(null, res)),
      );
    };
  }
  return {
    implementation: out as unknown as grpc.UntypedServiceImplementation,
    // Calls in flight finish on the old channels (grpc-js closes a channel once its calls end).
    renew: () => {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
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

/** The caller's metadata, less transport headers and any forwarded-* it sent; plus our vouching. */
function forwardedMetadata(
  call: grpc.ServerUnaryCall<unknown, unknown>,
  auth: Auth | undefined,
): grpc.Metadata {
  const md = call.metadata.clone();
  for (const key of [...TRANSPORT_HEADERS, FORWARDED_ROLE_HEADER, FORWARDED_FOR_HEADER]) md.remove(key);
  // The interceptor let the call in; vouch only for a caller it identified as an admin (with an
  // open Admin API there is nobody to vouch for, and the leader is open too: same configuration).
  const caller = auth?.callerOf(call, "admin");
  if (caller !== undefined) {
    md.set(FORWARDED_ROLE_HEADER, caller.role);
    md.set(FORWARDED_FOR_HEADER, describeIdentity(caller));
  }
  return md;
}
