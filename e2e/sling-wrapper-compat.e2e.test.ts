/**
 * sohooo/sling-sync-wrapper's own command lines and Helm values against `conveyor sling`, with the real
 * Sling CLI: the README's flag line (`run --mission-cluster-id mission-01 --config ./pipeline.yaml
 * --state file://./sling_state.json --sling-timeout 30m --otel-endpoint localhost:4317`, here with the
 * in-test collector's port), the same flags before the subcommand (cobra persistent flags), and the
 * Helm CronJob's environment (`OTEL_EXPORTER_OTLP_ENDPOINT=host:port` as gRPC, `SLING_STATE=greptimedb://…`
 * refused with what is supported). Spans arrive over OTLP/gRPC at an in-test TraceService; Sling runs
 * through a shim that records the SYNC_JOB_ID it was given.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { compiledPath, ManagedProcess, type ExitStatus } from "../src/cluster/managed-process";
import {
  startOtlpGrpcReceiver,
  type OtlpGrpcReceiver,
} from "../src/builtins/sling/test-support/otlp-grpc-receiver";
import { addMissionRows, writeReplication } from "../src/builtins/sling/test-support/sling-fixtures";
import { toolPath } from "../src/testing/tools";

jest.setTimeout(60_000);

const SLING = toolPath("sling");
let dir: string;
let receiver: OtlpGrpcReceiver | undefined;
const processes: ManagedProcess[] = [];

/** The Helm chart's values.yaml as the CronJob's env (templates/cronjob.yaml), connections added. */
function helmEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    SLING_HOME_DIR: path.join(dir, ".sling"),
    MISSION_CLUSTER_ID: "mission-01",
    PIPELINE_DIR: path.join(dir, "pipelines"),
    SLING_STATE: "greptimedb://greptimedb:4001/sling_state",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver!.endpoint,
    SYNC_MODE: "normal",
    SYNC_MAX_RETRIES: "3",
    SYNC_BACKOFF_BASE: "5s",
    SLING_TIMEOUT: "30m",
    MISSION: `sqlite://${path.join(dir, "mission.db")}`,
    COMMAND: `sqlite://${path.join(dir, "command.db")}`,
  };
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sling-wrapper-"));
  receiver = await startOtlpGrpcReceiver();
  await addMissionRows(
    SLING,
    { PATH: process.env.PATH, SLING_HOME_DIR: path.join(dir, ".sling") },
    path.join(dir, "mission.db"),
    1,
    25,
  );
  const replication = {
    source: "MISSION",
    target: "COMMAND",
    stream: "main.telemetry",
    object: "main.telemetry",
  };
  writeReplication(path.join(dir, "pipeline.yaml"), replication);
  writeReplication(path.join(dir, "pipelines", "mission1.yaml"), replication);
  // Real Sling behind a shim that notes the SYNC_JOB_ID each run was given.
  fs.writeFileSync(
    path.join(dir, "sling-shim"),
    `#!/bin/sh\nprintf '%s\\n' "$SYNC_JOB_ID" >> '${path.join(dir, "job-ids")}'\nexec '${SLING}' "$@"\n`,
    { mode: 0o755 },
  );
});

afterEach(async () => {
  for (const p of processes.splice(0)) await p.stop(5000);
  await receiver?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function conveyor(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: ExitStatus; output: string }> {
  // cwd = the test dir, so the README's relative ./pipeline.yaml and file://./sling_state.json resolve there.
  const p = new ManagedProcess(
    "conveyor-sling",
    process.execPath,
    [compiledPath("src/cli/main.ts"), ...args],
    env,
    undefined,
    dir,
  );
  processes.push(p);
  const status = await p.exited;
  return { status, output: p.output() };
}

function jobIdsGiven(): string[] {
  return fs.readFileSync(path.join(dir, "job-ids"), "utf8").trim().split("\n");
}

const README_FLAGS = (endpoint: string): string[] => [
  "--mission-cluster-id",
  "mission-01",
  "--config",
  "./pipeline.yaml",
  "--state",
  "file://./sling_state.json",
  "--sling-timeout",
  "30m",
  "--otel-endpoint",
  endpoint,
];

describe("sling-sync-wrapper drop-in", () => {
  it.each([
    ["after the subcommand (the README's line)", (flags: string[]) => ["sling", "run", ...flags]],
    ["before the subcommand (cobra persistent flags)", (flags: string[]) => ["sling", ...flags, "run"]],
  ])("the wrapper's flags %s sync with the real Sling and export over OTLP/gRPC", async (_, argv) => {
    const { PIPELINE_DIR: _dir, SLING_STATE: _state, OTEL_EXPORTER_OTLP_ENDPOINT: _otel, ...env } = helmEnv();
    const endpoint = `localhost:${receiver!.endpoint.split(":")[1]}`;
    const run = await conveyor(
      argv([...README_FLAGS(endpoint), "--sling-binary", path.join(dir, "sling-shim")]),
      env,
    );
    expect({ code: run.status.code, output: run.output }).toMatchObject({ code: 0 });
    const jobId = /job (\S+) \(normal\) succeeded/.exec(run.output)?.[1];
    expect(jobId).toBeDefined();
    expect(jobIdsGiven()).toEqual([jobId]);
    expect(fs.existsSync(path.join(dir, "sling_state.json"))).toBe(true); // relative to the working dir

    expect(receiver!.requests).toBeGreaterThan(0);
    const pipeline = receiver!.spans.find((s) => s.name === "sling.pipeline");
    expect(pipeline?.attributes).toMatchObject({
      sync_job_id: jobId,
      mission_cluster_id: "mission-01",
      pipeline: "pipeline",
      rows_synced: 25,
      status: "succeeded",
    });
    expect(pipeline?.resource).toMatchObject({
      "service.name": "conveyor-sling",
      mission_cluster_id: "mission-01",
    });
    const job = receiver!.spans.find((s) => s.name === "sling.job");
    expect(pipeline?.traceId).toBe(job?.traceId);
  });

  it("the Helm CronJob's env: greptimedb:// state is refused saying what works; with a file:// state it runs", async () => {
    const env = { ...helmEnv(), SLING_BIN: path.join(dir, "sling-shim") };
    const refused = await conveyor(["sling", "run"], env);
    expect(refused.status.code).toBe(2);
    expect(refused.output).toContain(
      'SLING_STATE / --state: "greptimedb://greptimedb:4001/sling_state": only file:// state is supported',
    );
    expect(refused.output).toContain("OpenTelemetry Collector");
    expect(refused.output).not.toContain("OTEL_EXPORTER_OTLP_ENDPOINT"); // host:port is fine now

    const ok = await conveyor(["sling", "run", "--state", "file://./sling_state.json"], env);
    expect({ code: ok.status.code, output: ok.output }).toMatchObject({ code: 0 });
    const jobId = /job (\S+) \(normal\) succeeded/.exec(ok.output)?.[1];
    expect(jobIdsGiven()).toEqual([jobId]);
    expect(receiver!.spans.find((s) => s.name === "sling.pipeline")?.attributes).toMatchObject({
      pipeline: "mission1",
      rows_synced: 25,
      sync_job_id: jobId,
    });
  });
});
