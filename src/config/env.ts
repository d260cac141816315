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
  if (value.startsWith("etcd:"))
    throw new InvalidArgumentError("the etcd store is not available yet; use memory or file:<path>");
  throw new InvalidArgumentError(`"${value}" is not a store; use memory or file:<path>`);
}

export interface RouterConfig {
  host: string;
  port: number;
  store: string;
  pipelinesDir?: string;
  heartbeatIntervalSecs: number;
  /** Missed heartbeats before a sidecar is marked dead. */
  deadAfterMissed: number;
  metricsPort: number;
  /** The web console and its /api (router/console); 0 or absent: no console. */
  httpPort?: number;
  /** Bearer token that authorises the console's writes (dead-letter replay); absent: read-only. */
  consoleToken?: string;
}

export function routerOptions(): Option[] {
  return [
    new Option("--host <host>", "address to listen on").env("ROUTER_HOST").default("0.0.0.0"),
    new Option("--port <port>", "gRPC port (Router + Admin)")
      .env("ROUTER_PORT")
      .default(7070)
      .argParser(parsePort),
    new Option("--store <store>", "state store: memory | file:<path>")
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
    new Option("--http-port <port>", "web console and its JSON /api (docs/console.md; 0 disables)")
      .env("HTTP_PORT")
      .default(8080)
      .argParser(parsePort),
    // From the environment only: a token on the command line is visible to every user of the machine.
    new Option("--console-token <token>", "bearer token for the console's writes (dead-letter replay)")
      .env("CONSOLE_ADMIN_TOKEN")
      .hideHelp(),
  ];
}

export interface SidecarConfig {
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
    new Option("--cluster-endpoint <host:port>", "router address")
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
  return c;
}
