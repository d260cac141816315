/**
 * The Conveyor variant: the demo-shaped pipeline on a LocalCluster,
 *
 *   router 127.0.0.1
 *   pod A 127.0.0.2: sidecar + generator Source "gen"
 *   pod B 127.0.0.3: sidecar + enrich Transform "enrich" + measuring Sink "out"
 *
 * gen → enrich → out applied through the router's Admin API, so every record
 * crosses the peer hop A → B. Same user services as the direct baseline.
 * `conveyor-mtls`: the same with mutual TLS on every hop between our
 * processes (router ↔ sidecars, sidecar A → B), certificates made by openssl
 * for the run; the pod-local hops to the user services stay plaintext.
 * `conveyor-traced-1` / `conveyor-traced-100`: the same with tracing on in both sidecars
 * (OTEL_TRACES_SAMPLER=parentbased_traceidratio, ratio 0.01 / 1), exporting OTLP/HTTP protobuf to a
 * draining receiver in the bench process (bench/otlp-sink.ts); the span processor's defaults apply
 * (queue 2048, batches of 512, spans beyond the queue dropped), as they would for a user.
 */
import * as path from "node:path";
import { applyPipeline } from "../src/cli/admin-client";
import { clientConnection, PLAINTEXT, type ClientConnection } from "../src/cli/client-credentials";
import { LocalCluster } from "../src/cluster/local-cluster";
import { DEFAULT_SETTINGS } from "../src/config/pipeline";
import { makeCa, makeLeaf } from "../src/testing/certs";
import { freePortBlock } from "../e2e/harness/ports";
import { startOtlpSink, type OtlpSink } from "./otlp-sink";
import {
  measureRun,
  type NamedProcess,
  type VariantName,
  type VariantOptions,
  type VariantResult,
} from "./stats";

export type ConveyorVariant = Exclude<VariantName, "direct">;

/** The sampling ratio of a traced variant; undefined: tracing off. */
function samplingRatio(variant: ConveyorVariant): number | undefined {
  switch (variant) {
    case "conveyor-traced-1":
      return 0.01;
    case "conveyor-traced-100":
      return 1;
    case "conveyor":
    case "conveyor-ordered":
    case "conveyor-mtls":
      return undefined;
  }
}

export const ROUTER_HOST = "127.0.0.1";
export const POD_A = "127.0.0.2";
export const POD_B = "127.0.0.3";

export const BENCH_PIPELINE = `name: bench
description: generator in pod A, enrich in pod B (peer hop), measuring sink in pod B
source: { stage: gen }
steps: [ { stage: enrich } ]
sink: { stage: out }
`;

/** The pipeline, with settings only where the bench flags differ from the defaults. */
export function benchPipeline(
  o: Pick<VariantOptions, "batchSize" | "inFlightRecords">,
  ordering: "none" | "key" = "none",
): string {
  const settings: string[] = [];
  if (ordering === "key") settings.push("ordering: key");
  if (o.batchSize !== DEFAULT_SETTINGS.batchSize) settings.push(`batchSize: ${o.batchSize}`);
  if (o.inFlightRecords !== DEFAULT_SETTINGS.maxInFlightRecords)
    settings.push(`maxInFlightRecords: ${o.inFlightRecords}`);
  return settings.length ? `${BENCH_PIPELINE}settings: { ${settings.join(", ")} }\n` : BENCH_PIPELINE;
}

export async function runConveyor(
  o: VariantOptions,
  repeat: number,
  variant: ConveyorVariant = "conveyor",
): Promise<VariantResult> {
  const cluster = new LocalCluster(path.join(o.dir, "logs"), o.env);
  const statsFile = path.join(o.dir, "sink-stats.json");
  const ratio = samplingRatio(variant);
  let otlp: OtlpSink | undefined;
  try {
    otlp = ratio === undefined ? undefined : await startOtlpSink(ROUTER_HOST);
    const tracing: NodeJS.ProcessEnv = otlp
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
          OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
          OTEL_TRACES_SAMPLER_ARG: String(ratio),
        }
      : {};
    // base: router; base+1: sidecars; base+2..base+3: each pod's user services (the discovery range).
    const base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 4);
    const router = `${ROUTER_HOST}:${base}`;
    const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 3 };
    o.log(
      `  conveyor: router ${router}, pod A ${POD_A}, pod B ${POD_B} (sidecars :${base + 1}, services :${base + 2}-${base + 3})`,
    );
    const tls = variant === "conveyor-mtls" ? mtlsSetup(path.join(o.dir, "certs")) : undefined;
    const routerProc = await cluster.startRouter({
      host: ROUTER_HOST,
      port: base,
      heartbeatIntervalSecs: 1,
      ...(tls ? { env: tls.env("router"), caFile: tls.caFile } : {}),
    });
    const transform = await cluster.startStage({
      kind: "transform",
      name: "enrich",
      host: POD_B,
      port: base + 2,
    });
    const sink = await cluster.startStage({
      kind: "sink",
      name: "out",
      host: POD_B,
      port: base + 3,
      statsFile,
      statsWarmupRecords: o.warmupRecords,
    });
    const sidecarA = await cluster.startSidecar({
      id: "bench-a",
      host: POD_A,
      port: base + 1,
      router,
      ...discovery,
      env: { ...tls?.env("bench-a"), ...tracing },
      ...(tls ? { caFile: tls.caFile } : {}),
    });
    const sidecarB = await cluster.startSidecar({
      id: "bench-b",
      host: POD_B,
      port: base + 1,
      router,
      ...discovery,
      env: { ...tls?.env("bench-b"), ...tracing },
      ...(tls ? { caFile: tls.caFile } : {}),
    });
    // Applied before the source exists: the pipeline waits for it. The source comes last because a
    // rate-limited source counts its allowance from its own start; sidecar A finds it on its next scan.
    await applyPipeline(
      router,
      benchPipeline(o, variant === "conveyor-ordered" ? "key" : "none"),
      tls?.admin ?? PLAINTEXT,
    );
    const source = await cluster.startStage({
      kind: "source",
      name: "gen",
      host: POD_A,
      port: base + 2,
      count: o.records,
      payloadBytes: o.payloadBytes,
      ...(o.rate ? { rate: o.rate } : {}),
    });
    const procs: NamedProcess[] = [
      { name: "source (gen)", process: source.process },
      { name: "transform (enrich)", process: transform.process },
      { name: "sink (measuring)", process: sink.process },
      { name: "sidecar A", process: sidecarA.process },
      { name: "sidecar B", process: sidecarB.process },
      { name: "router", process: routerProc.process },
    ];
    const result = await measureRun(
      variant,
      repeat,
      o,
      procs,
      statsFile,
      () => undefined,
      () => cluster.stopAll(),
    );
    if (otlp) {
      o.log(
        `  conveyor: OTLP receiver got ${otlp.requests} export requests, ${(otlp.bytes / 2 ** 20).toFixed(1)} MiB`,
      );
      result.otlp = { requests: otlp.requests, bytes: otlp.bytes };
    }
    return result;
  } finally {
    await cluster.stopAll();
    await otlp?.close();
  }
}

/** A CA and certificates for the router, both sidecars and the bench's admin client. */
function mtlsSetup(dir: string): {
  caFile: string;
  env(who: "router" | "bench-a" | "bench-b"): NodeJS.ProcessEnv;
  admin: ClientConnection;
} {
  const ca = makeCa(dir, "bench");
  const td = "conveyor.local";
  const leaf = (who: string, role: string, ip: string): { cert: string; key: string } =>
    makeLeaf(ca, { stem: who, uri: `spiffe://${td}/ns/default/${role}/${who}`, ips: [ip] });
  const files = {
    router: leaf("router", "router", ROUTER_HOST),
    "bench-a": leaf("bench-a", "sidecar", POD_A),
    "bench-b": leaf("bench-b", "sidecar", POD_B),
  };
  const admin = leaf("bench-admin", "admin", ROUTER_HOST);
  return {
    caFile: ca.cert,
    env: (who) => ({ TLS_CERT_FILE: files[who].cert, TLS_KEY_FILE: files[who].key, TLS_CA_FILE: ca.cert }),
    admin: clientConnection({ cacert: ca.cert, cert: admin.cert, key: admin.key }),
  };
}
