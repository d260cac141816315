/**
 * Who is calling, and may they: the pure part of authorisation (no I/O, no
 * grpc-js objects), unit-tested in identity.test.ts.
 *
 *   peer certificate (chain checked by TLS) ─▶ URI SAN spiffe://<td>/ns/<ns>/<role>/<name> ─┐
 *   `authorization: Bearer <token>` ───────────▶ the role whose token it is ──────────────────┼─▶ Identity
 *                                                                                               │
 *   method path ─▶ role it needs (METHOD_ROLES) ─▶ decide(identity, role, policy) ─▶ allow | deny(code, reason)
 *
 * Three roles callers need: `sidecar` (Register/Heartbeat/Deregister on the
 * router, Forward between sidecars), `client` (the data-plane calls: Inject,
 * Tap, GetRoutes, ListLocalServices) and `admin` (the router's Admin API).
 * Health and reflection are public: probes and `grpcurl list` need no
 * credential. A fourth, `router`, opens no method by itself: it is the
 * identity of a router of the cluster, and only it may vouch for the caller of
 * an Admin call it forwards (a standby forwarding to the leader):
 *
 *   caller ─(admin cert or token)─▶ standby: authorised here ─▶ leader, with the standby's own
 *   router certificate + `conveyor-forwarded-role: admin` (+ `conveyor-forwarded-for: <caller>`)
 *
 * The leader honours that header only on a connection whose verified
 * certificate is a router's; from anyone else it is ignored.
 */
import { timingSafeEqual, createHash } from "node:crypto";

export type Role = "sidecar" | "client" | "admin" | "router";
export const ROLES: readonly Role[] = ["sidecar", "client", "admin", "router"];

/** Set by a router forwarding a call it authorised (a standby's Admin forwarding): the caller's role. */
export const FORWARDED_ROLE_HEADER = "conveyor-forwarded-role";
/** Beside FORWARDED_ROLE_HEADER: who the caller was (SPIFFE id or "admin token"), for logs. */
export const FORWARDED_FOR_HEADER = "conveyor-forwarded-for";
/** The only role a router may vouch for: Router and DataPlane calls are never forwarded. */
const FORWARDABLE_ROLES: readonly Role[] = ["admin"];

/** An authenticated caller. A token says only which role it is for; a certificate also names the caller. */
export interface Identity {
  role: Role;
  /** `forwarded`: vouched for by the router whose certificate the connection presented. */
  via: "certificate" | "token" | "forwarded";
  /** From a certificate: the SPIFFE id, e.g. spiffe://conveyor.local/ns/default/sidecar/a. */
  uri?: string;
  namespace?: string;
  /** The last path segment: a sidecar's id, an admin's or client's name. */
  name?: string;
  /** For `forwarded`: the SPIFFE id of the router that vouched. */
  forwardedBy?: string;
}

export interface SpiffeId {
  trustDomain: string;
  namespace: string;
  role: Role;
  name: string;
}

const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** Parses spiffe://<trust-domain>/ns/<namespace>/<role>/<name>; undefined for anything else. */
export function parseSpiffeId(uri: string): SpiffeId | undefined {
  const m = /^spiffe:\/\/([a-z0-9.-]+)\/ns\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(uri);
  if (!m) return undefined;
  const [, trustDomain, namespace, role, name] = m as unknown as [string, string, string, string, string];
  if (!SEGMENT.test(namespace) || !SEGMENT.test(name)) return undefined;
  if (!(ROLES as readonly string[]).includes(role)) return undefined;
  return { trustDomain, namespace, role: role as Role, name };
}

/** The URI entries of Node's `subjectaltname` string ("DNS:a, URI:spiffe://…, IP Address:1.2.3.4"). */
export function uriSans(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(", ")
    .filter((entry) => entry.startsWith("URI:"))
    .map((entry) => entry.slice("URI:".length).replace(/^"|"$/g, ""));
}

/**
 * The identity a trusted certificate proves: its one SPIFFE URI SAN in our
 * trust domain. A certificate with none, or with several (ambiguous), proves nothing.
 */
export function identityFromCertificate(
  subjectAltName: string | undefined,
  trustDomain: string,
): Identity | undefined {
  const ids = uriSans(subjectAltName)
    .map((uri) => ({ uri, id: parseSpiffeId(uri) }))
    .filter((x) => x.id !== undefined && x.id.trustDomain === trustDomain);
  if (ids.length !== 1) return undefined;
  const { uri, id } = ids[0]!;
  return { role: id!.role, via: "certificate", uri, namespace: id!.namespace, name: id!.name };
}

/** The token of an `authorization` header value `Bearer <token>` (scheme case-insensitive). */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** Compares in constant time (over digests, so the length is not leaked either). */
export function tokenEquals(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Which role a presented token is for, if any. Every configured token is compared (no early exit). */
export function roleOfToken(token: string, tokens: Partial<Record<Role, string>>): Role | undefined {
  let found: Role | undefined;
  for (const role of ROLES) {
    const expected = tokens[role];
    if (expected !== undefined && expected !== "" && tokenEquals(token, expected)) found ??= role;
  }
  return found;
}

/** What a method needs. `public`: health and reflection. */
export type Requirement = Role | "public";

const SERVICE_ROLES: { readonly [service: string]: Requirement } = {
  "conveyor.v1.Router": "sidecar",
  "conveyor.v1.Admin": "admin",
  "grpc.health.v1.Health": "public",
  "grpc.reflection.v1.ServerReflection": "public",
  "grpc.reflection.v1alpha.ServerReflection": "public",
};

const METHOD_ROLES: { readonly [path: string]: Requirement } = {
  "/conveyor.v1.DataPlane/Forward": "sidecar",
  "/conveyor.v1.DataPlane/Inject": "client",
  "/conveyor.v1.DataPlane/Tap": "client",
  "/conveyor.v1.DataPlane/GetRoutes": "client",
  "/conveyor.v1.DataPlane/ListLocalServices": "client",
};

/** The role a method path (/package.Service/Method) needs; an unknown method needs admin. */
export function requirementOf(path: string): Requirement {
  const exact = METHOD_ROLES[path];
  if (exact !== undefined) return exact;
  const service = /^\/([^/]+)\//.exec(path)?.[1];
  return (service !== undefined ? SERVICE_ROLES[service] : undefined) ?? "admin";
}

/** A bounded label for a method path: known methods by name, anything else "other". */
export function methodLabel(path: string): string {
  if (METHOD_ROLES[path] !== undefined) return path.slice(1);
  const service = /^\/([^/]+)\/([A-Za-z]+)$/.exec(path);
  if (service && SERVICE_ROLES[service[1]!] !== undefined) return path.slice(1);
  return "other";
}

export interface AuthPolicy {
  trustDomain: string;
  /** Roles whose methods need a credential. A role not listed is open (security not configured for it). */
  enforced: ReadonlySet<Role>;
  tokens: Partial<Record<Role, string>>;
}

/** Why a call was refused: bounded, for logs and the counter's `reason` label. */
export type DenyReason =
  "no_credentials" | "bad_token" | "wrong_role" | "sidecar_id_mismatch" | "stage_not_placed";

export type Decision =
  | { allowed: true; identity: Identity | undefined }
  | { allowed: false; code: "UNAUTHENTICATED" | "PERMISSION_DENIED"; reason: DenyReason; message: string };

/** What the caller presented: the certificate's SAN string when TLS trusted it, and the authorization header. */
export interface Presented {
  /** Set only when the TLS handshake verified the peer's certificate chain against our CA. */
  trustedSubjectAltName?: string;
  authorization?: string;
  /** FORWARDED_ROLE_HEADER and FORWARDED_FOR_HEADER as received: believed only from a router's certificate. */
  forwardedRole?: string;
  forwardedFor?: string;
}

export interface Identified {
  certificate?: Identity;
  token?: Identity | "bad_token";
  /** The caller a router vouched for (only when `certificate` is a router's). */
  forwarded?: Identity;
}

/**
 * Who the caller is, by each thing it presented: its certificate, its token
 * ("bad_token": a token we do not know), and the caller a router forwards for.
 */
export function identify(p: Presented, policy: AuthPolicy): Identified {
  const out: Identified = {};
  if (p.trustedSubjectAltName !== undefined) {
    const fromCert = identityFromCertificate(p.trustedSubjectAltName, policy.trustDomain);
    if (fromCert) out.certificate = fromCert;
  }
  const vouched = FORWARDABLE_ROLES.find((r) => r === p.forwardedRole);
  if (out.certificate?.role === "router" && vouched !== undefined)
    out.forwarded = {
      role: vouched,
      via: "forwarded",
      ...(p.forwardedFor !== undefined && p.forwardedFor !== "" ? { uri: p.forwardedFor } : {}),
      ...(out.certificate.uri !== undefined ? { forwardedBy: out.certificate.uri } : {}),
    };
  if (p.authorization !== undefined) {
    const token = bearerToken(p.authorization);
    const role = token !== undefined ? roleOfToken(token, policy.tokens) : undefined;
    out.token = role !== undefined ? { role, via: "token" } : "bad_token";
  }
  return out;
}

/** Decides one call: the method's requirement against what the caller presented. */
export function decide(path: string, presented: Presented, policy: AuthPolicy): Decision {
  const need = requirementOf(path);
  const { certificate, token, forwarded } = identify(presented, policy);
  const tokenIdentity = token === "bad_token" ? undefined : token;
  const candidates = [forwarded, certificate, tokenIdentity].filter((i): i is Identity => i !== undefined);
  const matching = candidates.find((i) => i.role === need);
  if (need === "public" || !policy.enforced.has(need))
    return { allowed: true, identity: matching ?? candidates[0] };
  if (matching) return { allowed: true, identity: matching };
  const method = path.slice(1);
  if (candidates.length > 0)
    return {
      allowed: false,
      code: "PERMISSION_DENIED",
      reason: "wrong_role",
      message: `${method} needs ${article(need)} ${need} credential; the caller is ${candidates.map(describeIdentity).join(" and ")}`,
    };
  if (token === "bad_token")
    return {
      allowed: false,
      code: "UNAUTHENTICATED",
      reason: "bad_token",
      message: `${method} needs ${article(need)} ${need} credential; the bearer token presented is not valid`,
    };
  return {
    allowed: false,
    code: "UNAUTHENTICATED",
    reason: "no_credentials",
    message:
      `${method} needs ${article(need)} ${need} credential: a client certificate from the cluster's CA ` +
      `or an "authorization: Bearer <token>" header`,
  };
}

/**
 * A sidecar may register, heartbeat and deregister only as itself: a
 * certificate binds its id (and namespace). A registration token names no
 * one, so it cannot be checked further (see docs/security.md).
 */
export function checkSidecarIdentity(
  identity: Identity | undefined,
  claimed: { sidecarId: string; namespace?: string },
  policy: Pick<AuthPolicy, "enforced">,
): Decision {
  if (!policy.enforced.has("sidecar")) return { allowed: true, identity };
  if (identity === undefined || identity.role !== "sidecar")
    return {
      allowed: false,
      code: "UNAUTHENTICATED",
      reason: "no_credentials",
      message: "this call needs a sidecar credential",
    };
  if (identity.via === "token") return { allowed: true, identity };
  const nsMismatch = claimed.namespace !== undefined && claimed.namespace !== identity.namespace;
  if (identity.name !== claimed.sidecarId || nsMismatch)
    return {
      allowed: false,
      code: "PERMISSION_DENIED",
      reason: "sidecar_id_mismatch",
      message:
        `the certificate identifies sidecar "${identity.name}" in namespace "${identity.namespace}"; ` +
        `it cannot act as sidecar "${claimed.sidecarId}"` +
        (claimed.namespace !== undefined ? ` in namespace "${claimed.namespace}"` : ""),
    };
  return { allowed: true, identity };
}

function article(role: Role): string {
  return role === "admin" ? "an" : "a";
}

export function describeIdentity(identity: Identity): string {
  if (identity.via === "forwarded")
    return `${identity.uri ?? `an ${identity.role}`} (forwarded by ${identity.forwardedBy ?? "a router"})`;
  return identity.uri ?? `${identity.role} token`;
}
