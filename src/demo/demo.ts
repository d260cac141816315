/**
 * `conveyor demo`: a router and two simulated pods on loopback addresses,
 *
 *   pod A 127.0.0.2: sidecar :9091 + generator Source "gen" :50051
 *   pod B 127.0.0.3: sidecar :9091 + enrich Transform "enrich" :50051 + file Sink "out" :50052
 *
 * the pipeline gen → enrich → out applied through the router's Admin API,
 * records crossing the peer hop A → B, and a live count of what reached the file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { applyPipeline } from "../cli/admin-client";
import { LocalCluster } from "../cluster/local-cluster";

export interface DemoOptions {
  dir: string;
  rate: number;
  /** Stop by itself after this many seconds (0 = run until Ctrl-C). */
  durationSecs: number;
  routerPort: number;
  sidecarPort: number;
}

export const DEMO_PIPELINE = `name: demo
description: generator in pod A, enrich in pod B (peer hop), NDJSON file sink in pod B
source: { stage: gen }
steps: [ { stage: enrich } ]
sink: { stage: out }
`;

export const POD_A = "127.0.0.2";
export const POD_B = "127.0.0.3";
/** The router serves the web console here during the demo (docs/console.md). */
export const DEMO_CONSOLE_PORT = 8080;

export async function runDemo(o: DemoOptions, signal: AbortSignal): Promise<number> {
  const outDir = path.resolve(o.dir, "out");
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.rmSync(path.resolve(o.dir, "logs"), { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const say = (line: string): boolean => process.stdout.write(`${line}\n`);
  const cluster = new LocalCluster(path.resolve(o.dir, "logs"), {
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  });
  const router = `127.0.0.1:${o.routerPort}`;
  try {
    say(`starting router on ${router}`);
    await cluster.startRouter({
      port: o.routerPort,
      heartbeatIntervalSecs: 1,
      metricsPort: 9102,
      httpPort: DEMO_CONSOLE_PORT,
    });
    say(`starting pod A on ${POD_A}: generator source "gen", sidecar :${o.sidecarPort}`);
    await cluster.startStage({ kind: "source", name: "gen", host: POD_A, port: 50051, rate: o.rate });
    await cluster.startSidecar(sidecarSpec("pod-a", POD_A, o, router));
    say(`starting pod B on ${POD_B}: enrich transform, file sink "out", sidecar :${o.sidecarPort}`);
    await cluster.startStage({ kind: "transform", name: "enrich", host: POD_B, port: 50051 });
    await cluster.startStage({ kind: "sink", name: "out", host: POD_B, port: 50052, dir: outDir });
    await cluster.startSidecar(sidecarSpec("pod-b", POD_B, o, router));
    await applyPipeline(router, DEMO_PIPELINE);
    say(`applied pipeline "demo": gen (pod A) → enrich (pod B) → out (pod B)`);
    say(
      `logs in ${path.resolve(o.dir, "logs")}; try: grpcurl -plaintext ${POD_A}:${o.sidecarPort} conveyor.v1.DataPlane/GetRoutes`,
    );
    say(`console: http://127.0.0.1:${DEMO_CONSOLE_PORT}/   terminal view: conveyor top --router ${router}`);
    say("Ctrl-C stops everything.\n");
    const total = await showLiveCount(path.join(outDir, "out.ndjson"), o.durationSecs, signal);
    say(`\n${total} records reached ${path.join(outDir, "out.ndjson")}`);
    return total;
  } finally {
    say("stopping the demo cluster…");
    await cluster.stopAll();
    say("stopped.");
  }
}

function sidecarSpec(id: string, host: string, o: DemoOptions, router: string) {
  return {
    id,
    host,
    port: o.sidecarPort,
    router,
    discoveryStartPort: 50051,
    discoveryEndPort: 50060,
    heartbeatIntervalSecs: 1,
    metricsPort: 9101,
  };
}

/** Counts lines appended to the sink file once a second until the duration ends or Ctrl-C. */
async function showLiveCount(file: string, durationSecs: number, signal: AbortSignal): Promise<number> {
  let offset = 0;
  let lines = 0;
  let last = 0;
  const started = Date.now();
  while (!signal.aborted && (durationSecs === 0 || Date.now() - started < durationSecs * 1000)) {
    await new Promise((r) => setTimeout(r, 1000));
    if (fs.existsSync(file)) {
      const size = fs.statSync(file).size;
      if (size > offset) {
        const fd = fs.openSync(file, "r");
        const buf = Buffer.alloc(size - offset);
        fs.readSync(fd, buf, 0, buf.length, offset);
        fs.closeSync(fd);
        for (const b of buf) if (b === 0x0a) lines++;
        offset = size;
      }
    }
    const elapsed = Math.round((Date.now() - started) / 1000);
    process.stdout.write(
      `\r[${elapsed}s] records delivered across the peer hop: ${lines} (${lines - last}/s)   `,
    );
    last = lines;
  }
  return lines;
}
