/**
 * The only place that reads environment variables for the router and the
 * sidecar. Each setting is a commander Option bound to its env var, so a flag
 * overrides the env, the env overrides the default, and --help shows all three.
 */
import * as os from "node:os";
import { InvalidArgumentError, Option } from "commander";

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`"${value}" is not a port (0-65535)`);
  return n;
}

function parsePositiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive number`);
  return n;
}

function parseStore(value: string): string {
  if (value === "memory" || /^file:.+/.test(value)) return value;
  if (/^etcd:[^,\s]+(,[^,\s]+)*$/.test(value)) return value;
  throw new InvalidArgumentError(
    `"${value}" is not a store; use memory, file:<path> or etcd:<host:port>[,<host:port>…]`,
  );
}

function parseWholeSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`"${value}" is not a whole number of seconds ≥ 1`);
  return n;
}

export interface RouterConfig extends SecurityConfig {
  host: string;
  port: number;
  store: string;
  pipelinesDir?: string;
  heartbeatIntervalSecs: number;
  /** Missed heartbeats before a sidecar is marked dead. */
  deadAfterMissed: number;
  metricsPort: number;
  /** Router cluster (etcd store): the address sidecars and standbys reach this router at. */
  advertiseAddress?: string;
  /** Router cluster: TTL of the leader's etcd lease (a paused leader is deposed after this). */
  leaseTtlSecs: number;
  /** Router cluster: prefix of the keys in etcd. */
  etcdPrefix: string;
  /** Router cluster: CA of etcd's certificate (TLS to etcd; endpoints default to https://). */
  etcdCaFile?: string;
  /** Router cluster: client certificate and key for etcd's --client-cert-auth. */
  etcdCertFile?: string;
  etcdKeyFile?: string;
  /** The web console and its /api (router/console); 0 or absent: no console. */
  httpPort?: number;
}

export function routerOptions(): Option[] {
  return [
    new Option("--host <host>", "address to listen on").env("ROUTER_HOST").default("0.0.0.0"),
    new Option("--port <port>", "gRPC port (Router + Admin)")
      .env("ROUTER_PORT")
      .default(7070)
      .argParser(parsePort),
    new Option("--store <store>", "state store: memory | file:<path> | etcd:<host:port>[,…] (router cluster)")
      .env("ROUTER_STORE")
      .default("memory")
      .argParser(parseStore),
    new Option(
      "--pipelines-dir <dir>",
      "load every *.yaml|*.yml|*.json pipeline in this directory at start",
    ).env("PIPELINES_DIR"),
    new Option("--heartbeat-interval-secs <secs>", "heartbeat interval asked of sidecars")
      .env("HEARTBEAT_INTERVAL_SECS")
      .default(5)
      .argParser(parsePositiveNumber),
    new Option("--dead-after-missed <n>", "missed heartbeats before a sidecar is dead")
      .env("DEAD_AFTER_MISSED")
      .default(3)
      .argParser(parsePositiveNumber),
    new Option("--metrics-port <port>", "Prometheus /metrics port (0 disables)")
      .env("METRICS_PORT")
      .default(9102)
      .argParser(parsePort),
    new Option(
      "--advertise-address <host:port>",
      "router cluster: address sidecars and standbys reach this router at (default <host or hostname>:<port>)",
    ).env("ROUTER_ADVERTISE_ADDRESS"),
    new Option("--lease-ttl-secs <secs>", "router cluster: TTL of the leader's etcd lease")
      .env("ROUTER_LEASE_TTL_SECS")
      .default(2)
      .argParser(parseWholeSeconds),
    new Option("--etcd-prefix <prefix>", "router cluster: prefix of the router's keys in etcd")
      .env("ROUTER_ETCD_PREFIX")
      .default("/conveyor/"),
    new Option("--etcd-ca-file <file>", "router cluster: PEM CA of etcd's certificate (TLS to etcd)").env(
      "ETCD_CA_FILE",
    ),
    new Option("--etcd-cert-file <file>", "router cluster: PEM client certificate for etcd").env(
      "ETCD_CERT_FILE",
    ),
    new Option("--etcd-key-file <file>", "router cluster: PEM private key of --etcd-cert-file").env(
      "ETCD_KEY_FILE",
    ),
    ...securityOptions("router"),
    new Option("--http-port <port>", "web console and its JSON /api (docs/console.md; 0 disables)")
      .env("HTTP_PORT")
      .default(8080)
      .argParser(parsePort),
  ];
}

export interface SidecarConfig extends SecurityConfig {
  sidecarId: string;
  podName: string;
  namespace: string;
  clusterEndpoint: string;
  grpcHost: string;
  grpcPort: number;
  /** Address peers use to reach this sidecar (default <pod IP or hostname>:<grpc port>). */
  peerAddress?: string;
  discoveryHost: string;
  discoveryStartPort: number;
  discoveryEndPort: number;
  discoveryIntervalSecs: number;
  heartbeatIntervalSecs: number;
  metricsPort: number;
  shutdownGraceSecs: number;
  /** Where built-in stages keep their state (e.g. the acked cursor of `builtin: sse`). */
  stateDir: string;
}

export function sidecarOptions(): Option[] {
  return [
    new Option("--sidecar-id <id>", "unique id of this sidecar").env("SIDECAR_ID").default(os.hostname()),
    new Option("--pod-name <name>", "pod this sidecar runs in").env("POD_NAME").default(os.hostname()),
    new Option("--namespace <ns>", "namespace of the pod").env("NAMESPACE").default("default"),
    new Option(
      "--cluster-endpoint <host:port,...>",
      "router address; several for a router cluster (a:7070,b:7070,c:7070), or a DNS name with several addresses",
    )
      .env("CLUSTER_ENDPOINT")
      .default("127.0.0.1:7070"),
    new Option("--grpc-host <host>", "address the DataPlane listens on").env("GRPC_HOST").default("0.0.0.0"),
    new Option("--grpc-port <port>", "DataPlane gRPC port")
      .env("GRPC_PORT")
      .default(9091)
      .argParser(parsePort),
    new Option("--peer-address <host:port>", "address peers use to reach this sidecar").env("PEER_ADDRESS"),
    new Option("--discovery-host <host>", "host whose ports are scanned for stage services")
      .env("DISCOVERY_HOST")
      .default("127.0.0.1"),
    new Option("--discovery-start-port <port>", "first port scanned")
      .env("DISCOVERY_START_PORT")
      .default(50051)
      .argParser(parsePort),
    new Option("--discovery-end-port <port>", "last port scanned")
      .env("DISCOVERY_END_PORT")
      .default(50060)
      .argParser(parsePort),
    new Option("--discovery-interval-secs <secs>", "rescan period")
      .env("DISCOVERY_INTERVAL")
      .default(10)
      .argParser(parsePositiveNumber),
    new Option("--heartbeat-interval-secs <secs>", "heartbeat period (the router may ask for another)")
      .env("HEARTBEAT_INTERVAL_SECS")
      .default(5)
      .argParser(parsePositiveNumber),
    new Option("--metrics-port <port>", "Prometheus /metrics port (0 disables)")
      .env("METRICS_PORT")
      .default(9101)
      .argParser(parsePort),
    new Option("--shutdown-grace-secs <secs>", "time to drain in-flight records on SIGTERM")
      .env("SHUTDOWN_GRACE_SECS")
      .default(20)
      .argParser(parsePositiveNumber),
    new Option("--state-dir <dir>", "where built-in stages keep state (mount a volume in Kubernetes)")
      .env("STATE_DIR")
      .default(".conveyor-state"),
    ...securityOptions("sidecar"),
  ];
}

/** Checks that span several options. Throws InvalidArgumentError with a clear message. */
export function checkSidecarConfig(c: SidecarConfig): SidecarConfig {
  if (c.discoveryEndPort < c.discoveryStartPort) {
    throw new InvalidArgumentError(
      `discovery port range is empty: start ${c.discoveryStartPort} > end ${c.discoveryEndPort}`,
    );
  }
  if (c.discoveryEndPort - c.discoveryStartPort > 1000) {
    throw new InvalidArgumentError("discovery port range is wider than 1000 ports; narrow it");
  }
  return checkSecurityConfig(c);
}

/** TLS and credentials of the router or a sidecar (docs/security.md). Plaintext and open without them. */
export interface SecurityConfig {
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Set: mutual TLS — peers must present a certificate from this CA, and every call needs a credential. */
  tlsCaFile?: string;
  /** Default 5 (TLS_DEFAULTS). */
  tlsReloadIntervalSecs?: number;
  /** Default conveyor.local (TLS_DEFAULTS). */
  trustDomain?: string;
  /** Router: the token sidecars present without mTLS. Sidecar: the token it presents (router and peers) and expects on Forward. */
  registrationToken?: string;
  /** Router only: the Admin API token. */
  adminToken?: string;
  /** Sidecar only: the token Inject, Tap, GetRoutes and ListLocalServices need. */
  dataplaneToken?: string;
  /** /metrics over HTTPS with the TLS certificate (needs TLS_CERT_FILE). */
  metricsTls?: boolean;
}

function parseTrustDomain(value: string): string {
  if (!/^[a-z0-9.-]+$/.test(value))
    throw new InvalidArgumentError(`"${value}" is not a trust domain (lower-case letters, digits, . and -)`);
  return value;
}

function parseOnOff(value: string): boolean {
  if (["on", "true", "1"].includes(value)) return true;
  if (["off", "false", "0"].includes(value)) return false;
  throw new InvalidArgumentError(`"${value}" is not on or off`);
}

export const TLS_DEFAULTS = { reloadIntervalSecs: 5, trustDomain: "conveyor.local" } as const;

export function securityOptions(role: "router" | "sidecar"): Option[] {
  return [
    new Option(
      "--tls-cert-file <file>",
      "PEM certificate served on the gRPC port (TLS); reloaded on change",
    ).env("TLS_CERT_FILE"),
    new Option("--tls-key-file <file>", "PEM private key of --tls-cert-file").env("TLS_KEY_FILE"),
    new Option("--tls-ca-file <file>", "PEM CA bundle: turns on mutual TLS and credential checks").env(
      "TLS_CA_FILE",
    ),
    new Option("--tls-reload-interval-secs <secs>", "how often the TLS files are checked for a change")
      .env("TLS_RELOAD_INTERVAL_SECS")
      .default(TLS_DEFAULTS.reloadIntervalSecs)
      .argParser(parsePositiveNumber),
    new Option(
      "--metrics-tls <on|off>",
      "serve /metrics over HTTPS with the TLS certificate (reloaded with it)",
    )
      .env("METRICS_TLS")
      .argParser(parseOnOff),
    new Option("--trust-domain <domain>", "SPIFFE trust domain of certificate identities")
      .env("TRUST_DOMAIN")
      .default(TLS_DEFAULTS.trustDomain)
      .argParser(parseTrustDomain),
    new Option(
      "--registration-token <token>",
      role === "router"
        ? "token sidecars must present to register (without mTLS); prefer the env var"
        : "token presented to the router and to peers, and required on Forward; prefer the env var",
    ).env("REGISTRATION_TOKEN"),
    ...(role === "router"
      ? [
          new Option("--admin-token <token>", "token the Admin API requires; prefer the env var").env(
            "ADMIN_TOKEN",
          ),
        ]
      : [
          new Option(
            "--dataplane-token <token>",
            "token Inject, Tap, GetRoutes and ListLocalServices require; prefer the env var",
          ).env("DATAPLANE_TOKEN"),
        ]),
  ];
}

/** Cert and key go together; a CA needs both (a process that checks peers must present itself too). */
export function checkSecurityConfig<C extends SecurityConfig>(c: C): C {
  if ((c.tlsCertFile === undefined) !== (c.tlsKeyFile === undefined))
    throw new InvalidArgumentError(
      "--tls-cert-file and --tls-key-file (TLS_CERT_FILE, TLS_KEY_FILE) go together",
    );
  if (c.metricsTls === true && c.tlsCertFile === undefined)
    throw new InvalidArgumentError(
      "--metrics-tls (METRICS_TLS) serves /metrics with the TLS certificate: set --tls-cert-file and --tls-key-file too",
    );
  if (c.tlsCaFile !== undefined && c.tlsCertFile === undefined)
    throw new InvalidArgumentError(
      "--tls-ca-file (TLS_CA_FILE) turns on mutual TLS: set --tls-cert-file and --tls-key-file too",
    );
  return c;
}

/** What a CLI client presents to the router or a sidecar (`conveyor apply|status|dlq`). */
export interface ClientSecurityConfig {
  /** CA that signed the server's certificate: turns TLS on. */
  cacert?: string;
  /** Client certificate and key, for mutual TLS. */
  cert?: string;
  key?: string;
  /** Sent as `authorization: Bearer <token>`. */
  token?: string;
}

export function clientSecurityOptions(): Option[] {
  return [
    new Option("--cacert <file>", "PEM CA of the server's certificate (turns TLS on)").env("CONVEYOR_CACERT"),
    new Option("--cert <file>", "PEM client certificate (mutual TLS)").env("CONVEYOR_CERT"),
    new Option("--key <file>", "PEM private key of --cert").env("CONVEYOR_KEY"),
    new Option("--token <token>", "bearer token (admin or data-plane); prefer the env var").env(
      "CONVEYOR_TOKEN",
    ),
  ];
}
