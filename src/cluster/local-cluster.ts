/**
 * A router and simulated pods as real processes on loopback addresses
 * (127.0.0.x per pod, so every pod has its own "localhost" ports). Used by
 * `conveyor demo`, the e2e tests and the bench.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { deadlineIn, packageDefinition } from "../proto";
import { ManagedProcess } from "./managed-process";
import type { SampleStageOptions } from "../demo/sample-stages";

export interface RouterSpec {
  host?: string;
  port: number;
  store?: string;
  heartbeatIntervalSecs?: number;
  deadAfterMissed?: number;
  metricsPort?: number;
  /** The web console's port; 0 (the default here) runs none. */
  httpPort?: number;
  pipelinesDir?: string;
  /** Added to the process's environment (e.g. TLS_CERT_FILE, ADMIN_TOKEN). */
  env?: NodeJS.ProcessEnv;
  /** PEM CA of the process's TLS certificate: the readiness check then uses TLS. */
  caFile?: string;
  /** Router cluster (store etcd:…): TTL of the leader's lease. */
  leaseTtlSecs?: number;
}

export interface SidecarSpec {
  id: string;
  /** The pod's loopback address, e.g. 127.0.0.2. */
  host: string;
  port: number;
  router: string;
  discoveryStartPort: number;
  discoveryEndPort: number;
  discoveryIntervalSecs?: number;
  heartbeatIntervalSecs?: number;
  metricsPort?: number;
  shutdownGraceSecs?: number;
  /** Added to the process's environment (e.g. TLS_CERT_FILE, REGISTRATION_TOKEN). */
  env?: NodeJS.ProcessEnv;
  /** PEM CA of the process's TLS certificate: the readiness check then uses TLS. */
  caFile?: string;
}

/** A sample stage to run as its own process: the options of `serveSampleStage`. */
export type StageSpec = SampleStageOptions;

export interface Started {
  process: ManagedProcess;
  address: string;
}

export class LocalCluster {
  private readonly processes: Array<{ role: "router" | "sidecar" | "stage"; process: ManagedProcess }> = [];

  constructor(
    /** Log files and data go here. */
    readonly baseDir: string,
    private readonly extraEnv: NodeJS.ProcessEnv = {},
  ) {
    fs.mkdirSync(baseDir, { recursive: true });
  }

  async startRouter(spec: RouterSpec, name = "router"): Promise<Started> {
    const host = spec.host ?? "127.0.0.1";
    const args = [
      "router",
      "--host",
      host,
      "--port",
      String(spec.port),
      "--metrics-port",
      String(spec.metricsPort ?? 0),
    ];
    if (spec.store) args.push("--store", spec.store);
    if (spec.heartbeatIntervalSecs)
      args.push("--heartbeat-interval-secs", String(spec.heartbeatIntervalSecs));
    if (spec.deadAfterMissed) args.push("--dead-after-missed", String(spec.deadAfterMissed));
    if (spec.pipelinesDir) args.push("--pipelines-dir", spec.pipelinesDir);
    args.push("--http-port", String(spec.httpPort ?? 0));
    if (spec.leaseTtlSecs) args.push("--lease-ttl-secs", String(spec.leaseTtlSecs));
    return this.startGrpc(
      "router",
      name,
      { compiled: "src/cli/main.ts" },
      args,
      `${host}:${spec.port}`,
      spec,
    );
  }

  async startSidecar(spec: SidecarSpec): Promise<Started> {
    const args = [
      "sidecar",
      ...["--sidecar-id", spec.id, "--pod-name", `pod-${spec.id}`, "--cluster-endpoint", spec.router],
      ...["--grpc-host", spec.host, "--grpc-port", String(spec.port), "--discovery-host", spec.host],
      ...[
        "--discovery-start-port",
        String(spec.discoveryStartPort),
        "--discovery-end-port",
        String(spec.discoveryEndPort),
      ],
      ...["--discovery-interval-secs", String(spec.discoveryIntervalSecs ?? 2)],
      ...["--heartbeat-interval-secs", String(spec.heartbeatIntervalSecs ?? 1)],
      ...[
        "--metrics-port",
        String(spec.metricsPort ?? 0),
        "--shutdown-grace-secs",
        String(spec.shutdownGraceSecs ?? 10),
      ],
    ];
    return this.startGrpc(
      "sidecar",
      `sidecar-${spec.id}`,
      { compiled: "src/cli/main.ts" },
      args,
      `${spec.host}:${spec.port}`,
      spec,
    );
  }

  async startStage(spec: StageSpec): Promise<Started> {
    const args = [spec.kind, "--name", spec.name, "--host", spec.host, "--port", String(spec.port)];
    if (spec.count !== undefined) args.push("--count", String(spec.count));
    if (spec.payloadBytes !== undefined) args.push("--payload-bytes", String(spec.payloadBytes));
    if (spec.rate !== undefined) args.push("--rate", String(spec.rate));
    if (spec.partitions !== undefined) args.push("--partitions", String(spec.partitions));
    if (spec.keys !== undefined) args.push("--keys", String(spec.keys));
    if (spec.idPrefix !== undefined) args.push("--id-prefix", spec.idPrefix);
    if (spec.delayMs !== undefined) args.push("--delay-ms", String(spec.delayMs));
    if (spec.dir) args.push("--dir", spec.dir);
    if (spec.fsync === false) args.push("--no-fsync");
    if (spec.stampReceived) args.push("--stamp-received");
    if (spec.statsFile) args.push("--stats-file", spec.statsFile);
    if (spec.statsWarmupRecords !== undefined)
      args.push("--stats-warmup-records", String(spec.statsWarmupRecords));
    return this.startGrpc(
      "stage",
      `${spec.kind}-${spec.name}-${spec.host}`,
      { compiled: "src/demo/stage-process.ts" },
      args,
      `${spec.host}:${spec.port}`,
    );
  }

  /** A user service from a script of the test's own (TypeScript, run with tsx); resolves once it serves. */
  startCustomStage(name: string, script: string, args: string[], address: string): Promise<Started> {
    return this.startGrpc("stage", name, { typescript: script }, args, address);
  }

  /**
   * A user service in any language: `command args` run in `cwd` (default the
   * repo root) with `env` added; resolves once it answers grpc.health.v1 SERVING.
   */
  async startExternalStage(
    name: string,
    command: string,
    args: string[],
    address: string,
    opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
  ): Promise<Started> {
    const env = { ...process.env, ...this.extraEnv, ...opts.env };
    const p = new ManagedProcess(name, command, args, env, path.join(this.baseDir, `${name}.log`), opts.cwd);
    return this.track("stage", p, address);
  }

  /**
   * Stops sidecars first, in the order they started (upstream pods usually
   * start first, and each drains into peers that are still up), then the user
   * services, then the routers.
   */
  async stopAll(timeoutMs = 15_000): Promise<void> {
    for (const role of ["sidecar", "stage", "router"] as const) {
      for (const p of this.processes) if (p.role === role) await p.process.stop(timeoutMs);
    }
    this.processes.length = 0;
  }

  private async startGrpc(
    role: "router" | "sidecar" | "stage",
    name: string,
    script: { compiled: string } | { typescript: string },
    args: string[],
    address: string,
    extra: { env?: NodeJS.ProcessEnv; caFile?: string } = {},
  ): Promise<Started> {
    const env = {
      ...process.env,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
      ...this.extraEnv,
      ...extra.env,
    };
    const log = path.join(this.baseDir, `${name}.log`);
    const p =
      "compiled" in script
        ? ManagedProcess.compiled(name, script.compiled, args, env, log)
        : ManagedProcess.typescript(name, script.typescript, args, env, log);
    return this.track(role, p, address, extra.caFile);
  }

  private async track(
    role: "router" | "sidecar" | "stage",
    p: ManagedProcess,
    address: string,
    caFile?: string,
  ): Promise<Started> {
    const name = p.name;
    this.processes.push({ role, process: p });
    const credentials =
      caFile !== undefined ? grpc.credentials.createSsl(fs.readFileSync(caFile)) : undefined;
    await Promise.race([
      waitForServing(address, 30_000, credentials),
      p.exited.then((s) => {
        throw new Error(
          `${name} exited (code ${s.code}) before serving; output:\n${p.output().slice(-3000)}`,
        );
      }),
    ]);
    return { process: p, address };
  }
}

interface HealthClient extends grpc.Client {
  check(
    req: { service: string },
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: { status: string }) => void,
  ): void;
}
const HealthCtor = (
  grpc.loadPackageDefinition(packageDefinition) as unknown as {
    grpc: { health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials) => HealthClient } } };
  }
).grpc.health.v1.Health;

/** Polls grpc.health.v1 until the server answers SERVING. */
export async function waitForServing(
  address: string,
  timeoutMs: number,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): Promise<void> {
  const client = new HealthCtor(address, credentials);
  const until = Date.now() + timeoutMs;
  try {
    for (;;) {
      const status = await new Promise<string>((resolve) =>
        client.check({ service: "" }, { deadline: deadlineIn(500) }, (err, res) =>
          resolve(err ? err.message : (res?.status ?? "")),
        ),
      );
      if (status === "SERVING") return;
      if (Date.now() > until)
        throw new Error(`${address} not serving after ${timeoutMs} ms (last: ${status})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
}
