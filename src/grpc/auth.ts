/**
 * Authorisation at the edge of every server the project starts: one server
 * interceptor checks each call's credentials (identity.ts decides) before any
 * handler sees it; a refusal is UNAUTHENTICATED or PERMISSION_DENIED, logged
 * and counted in conveyor_auth_rejected_total{method, code, reason}. Handlers
 * that need the caller (Register checks the sidecar id, Forward checks the
 * stage is placed here) ask `Auth.callerOf(call)`; they report their own
 * refusals through `Auth.refuse()` so that every refusal is counted once, here.
 * On the client side, `bearer()` adds `authorization: Bearer <token>` to every
 * call of a client, plaintext or TLS.
 */
import * as grpc from "@grpc/grpc-js";
import client from "prom-client";
import { ConveyorError, toGrpcStatus } from "../errors";
import type { Logger } from "../telemetry/log";
import { registry } from "../telemetry/metrics";
import {
  FORWARDED_FOR_HEADER,
  FORWARDED_ROLE_HEADER,
  ROLES,
  decide,
  identify,
  methodLabel,
  type AuthPolicy,
  type Decision,
  type DenyReason,
  type Identity,
  type Presented,
  type Role,
} from "./identity";

export const authRejected = new client.Counter({
  name: "conveyor_auth_rejected_total",
  help: "Calls refused for missing or wrong credentials, by method, gRPC code and reason.",
  labelNames: ["method", "code", "reason"],
  registers: [registry],
});

/** What a process is configured with. */
export interface AuthSettings {
  trustDomain: string;
  /** mutual TLS is on (a CA is set): every role needs a credential. */
  mutualTls: boolean;
  tokens: Partial<Record<Role, string>>;
}

export function policyOf(s: AuthSettings): AuthPolicy {
  const enforced = new Set<Role>(
    ROLES.filter((r) => s.mutualTls || (s.tokens[r] !== undefined && s.tokens[r] !== "")),
  );
  return { trustDomain: s.trustDomain, enforced, tokens: s.tokens };
}

/** The part of a server call that carries credentials (any of grpc-js's call kinds). */
export interface CredentialedCall {
  metadata: grpc.Metadata;
  getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string } };
  getPeer(): string;
}

function presentedBy(
  metadata: grpc.Metadata,
  authContext: { sslPeerCertificate?: { subjectaltname?: string } },
): Presented {
  const header = metadata.get("authorization")[0];
  const forwardedRole = metadata.get(FORWARDED_ROLE_HEADER)[0];
  const forwardedFor = metadata.get(FORWARDED_FOR_HEADER)[0];
  const san = authContext.sslPeerCertificate?.subjectaltname;
  return {
    // grpc-js sets sslPeerCertificate only for a connection whose certificate chain was verified.
    ...(authContext.sslPeerCertificate !== undefined ? { trustedSubjectAltName: san ?? "" } : {}),
    ...(typeof header === "string" ? { authorization: header } : {}),
    // Believed by identify() only when the certificate is a router's.
    ...(typeof forwardedRole === "string" ? { forwardedRole } : {}),
    ...(typeof forwardedFor === "string" ? { forwardedFor } : {}),
  };
}

export class Auth {
  readonly policy: AuthPolicy;

  constructor(
    settings: AuthSettings,
    private readonly log: Logger,
  ) {
    this.policy = policyOf(settings);
  }

  /** Roles whose calls are open: said once at start so an operator sees what is not protected. */
  get open(): Role[] {
    return ROLES.filter((r) => !this.policy.enforced.has(r));
  }

  /** The server interceptor: refuses a call before its handler runs, unless its credentials fit. */
  readonly interceptor: grpc.ServerInterceptor = (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            const decision = decide(method.path, presentedBy(metadata, call.getAuthContext()), this.policy);
            if (decision.allowed) {
              mdNext(metadata);
              return;
            }
            call.sendStatus(this.refuse(method.path, decision, call.getPeer()));
          },
        });
      },
    });

  /**
   * The one answer to "is this caller an admin", for every edge (the Admin API's interceptor
   * decides by the same policy; the router's console asks this before a write): the credentials
   * name the admin role, and the admin role is protected at all — an open role admits everyone
   * over gRPC, but a write over HTTP needs a credential, so it is never open.
   */
  isAdmin(presented: Presented): boolean {
    if (!this.policy.enforced.has("admin")) return false;
    const { certificate, token } = identify(presented, this.policy);
    return certificate?.role === "admin" || (token !== "bad_token" && token?.role === "admin");
  }

  /**
   * Who is calling, for a handler's own checks (the interceptor has already let the call in);
   * with `role`, only an identity of that role (a caller may present a certificate and a token).
   */
  callerOf(call: CredentialedCall, role?: Role): Identity | undefined {
    const { certificate, token, forwarded } = identify(
      presentedBy(call.metadata, call.getAuthContext()),
      this.policy,
    );
    const candidates = [forwarded, certificate, token === "bad_token" ? undefined : token];
    return candidates.find((i) => i !== undefined && (role === undefined || i.role === role));
  }

  /** A handler's refusal: logged and counted; the status to send. */
  refuse(
    path: string,
    decision: Extract<Decision, { allowed: false }>,
    peer: string,
  ): { code: grpc.status; details: string; metadata?: grpc.Metadata } {
    this.count(path, decision, peer);
    return toGrpcStatus(new ConveyorError(decision.code, decision.message, { reason: decision.reason }));
  }

  /** Counts a refusal without a call to answer (e.g. one batch of a Forward stream). */
  count(path: string, decision: { code: string; reason: DenyReason; message: string }, peer: string): void {
    authRejected.labels(methodLabel(path), decision.code, decision.reason).inc();
    this.log.warn({ method: path, peer, code: decision.code, reason: decision.reason }, decision.message);
  }
}

/** A client interceptor adding `authorization: Bearer <token>` to every call (none without a token). */
export function bearer(token: string | undefined): grpc.Interceptor[] {
  if (token === undefined || token === "") return [];
  return [
    (options, nextCall) =>
      new grpc.InterceptingCall(nextCall(options), {
        start(metadata, listener, next) {
          metadata.set("authorization", `Bearer ${token}`);
          next(metadata, listener);
        },
      }),
  ];
}
