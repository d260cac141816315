/**
 * A process's security, built once from its SecurityConfig: the reloading
 * certificates (when TLS files are set), the server credentials and auth
 * interceptor of its gRPC port, and the credentials of its channels to the
 * other processes of the cluster (peer sidecars, the router).
 */
import type * as grpc from "@grpc/grpc-js";
import { TLS_DEFAULTS, type SecurityConfig } from "../config/env";
import { componentLogger, type Logger } from "../telemetry/log";
import type { MetricsTls } from "../telemetry/metrics";
import { Auth, bearer } from "./auth";
import type { Role } from "./identity";
import { ReloadingCertificates, channelCredentials, serverCredentials } from "./tls";

export interface ProcessSecurity {
  certs: ReloadingCertificates | undefined;
  auth: Auth;
  /** Credentials of the gRPC port. */
  serverCredentials: grpc.ServerCredentials;
  /** Credentials of channels to our own processes. */
  channelCredentials: grpc.ChannelCredentials;
  /** Client interceptors presenting this process's own token (the registration token of a sidecar). */
  clientInterceptors: grpc.Interceptor[];
  close(): void;
}

export function processSecurity(
  config: SecurityConfig,
  role: "router" | "sidecar",
  log: Logger,
): ProcessSecurity {
  const trustDomain = config.trustDomain ?? TLS_DEFAULTS.trustDomain;
  const certs =
    config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined
      ? new ReloadingCertificates(
          {
            certFile: config.tlsCertFile,
            keyFile: config.tlsKeyFile,
            ...(config.tlsCaFile !== undefined ? { caFile: config.tlsCaFile } : {}),
            reloadMs: Math.round((config.tlsReloadIntervalSecs ?? TLS_DEFAULTS.reloadIntervalSecs) * 1000),
            trustDomain,
          },
          componentLogger(log, "tls"),
        )
      : undefined;
  const tokens: Partial<Record<Role, string>> = {};
  if (config.registrationToken) tokens.sidecar = config.registrationToken;
  if (role === "router" && config.adminToken) tokens.admin = config.adminToken;
  if (role === "sidecar" && config.dataplaneToken) tokens.client = config.dataplaneToken;
  const auth = new Auth(
    { trustDomain, mutualTls: certs?.mutual ?? false, tokens },
    componentLogger(log, "auth"),
  );
  const served = role === "router" ? (["sidecar", "admin"] as const) : (["sidecar", "client"] as const);
  const open = served.filter((r) => auth.open.includes(r));
  log.info(
    {
      tls: certs === undefined ? "off" : certs.mutual ? "mutual" : "server",
      identity: certs?.identity,
      trustDomain,
      open,
    },
    open.length === 0
      ? "security: every call needs a credential"
      : `security: ${open.join(" and ")} calls need no credential (no TLS_CA_FILE and no token for them)`,
  );
  return {
    certs,
    auth,
    serverCredentials: serverCredentials(certs),
    channelCredentials: channelCredentials(certs),
    clientInterceptors: bearer(config.registrationToken),
    close: () => certs?.close(),
  };
}

/** /metrics over HTTPS when METRICS_TLS is on (checkSecurityConfig made sure the files are set). */
export function metricsTlsOf(config: SecurityConfig, security: ProcessSecurity): MetricsTls | undefined {
  const certs = security.certs;
  if (config.metricsTls !== true || certs === undefined) return undefined;
  return { keyPair: () => certs.keyPair(), onReload: (l) => certs.onReload(l) };
}
