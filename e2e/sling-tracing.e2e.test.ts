/**
 * Observability of `conveyor sling run`, end to end: the CLI runs as a child process (OpenTelemetry is
 * checked outside jest's module loader) with the real Sling CLI, exports its spans over OTLP/HTTP to an
 * in-test receiver, logs JSON lines carrying the same trace and span ids, and writes its Prometheus
 * metrics to a file that `promtool check metrics` accepts.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManagedProcess } from "../src/cluster/managed-process";
import { startOtlpReceiver, type OtlpReceiver } from "../src/builtins/sling/test-support/otlp-receiver";
import { addMissionRows, writeReplication } from "../src/builtins/sling/test-support/sling-fixtures";
import { toolPath } from "../src/testing/tools";

jest.setTimeout(60_000);

const SLING = toolPath("sling");
let dir: string;
let receiver: OtlpReceiver | undefined;
let cliProcess: ManagedProcess | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sling-otel-"));
});
afterEach(async () => {
  await cliProcess?.stop(5000);
  await receiver?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      toolPath("promtool"),
      ["check", "metrics"],
      { timeout: 20_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
    child.stdin!.end(text);
  });
}

describe("sling job observability", () => {
  it("one trace per job, one span per pipeline with its attributes, Sling lines as events and logs; valid metrics", async () => {
    receiver = await startOtlpReceiver();
    const mission = path.join(dir, "mission.db");
    await addMissionRows(
      SLING,
      { SLING_HOME_DIR: path.join(dir, ".sling"), PATH: process.env.PATH },
      mission,
      1,
      40,
    );
    const pipelines = path.join(dir, "pipelines");
    writeReplication(path.join(pipelines, "a-good.yaml"), {
      source: "MISSION",
      target: "COMMAND",
      stream: "main.telemetry",
      object: "main.telemetry",
    });
    writeReplication(path.join(pipelines, "b-broken.yaml"), {
      source: "MISSION",
      target: "COMMAND",
      stream: "main.missing",
      object: "main.missing",
    });
    const metricsFile = path.join(dir, "sling.prom");
    cliProcess = ManagedProcess.conveyor(
      "conveyor-sling",
      ["sling", "run", "--pipeline-dir", pipelines, "--max-retries", "1", "--metrics-file", metricsFile],
      {
        PATH: process.env.PATH,
        HOME: dir,
        SLING_HOME_DIR: path.join(dir, ".sling"),
        SLING_BIN: SLING,
        SLING_STATE: `file://${path.join(dir, "state.json")}`,
        SYNC_BACKOFF_BASE: "100ms",
        MISSION_CLUSTER_ID: "mars-1",
        MISSION: `sqlite://${mission}`,
        COMMAND: `sqlite://${path.join(dir, "command.db")}`,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      },
    );
    const status = await cliProcess.exited;
    const output = cliProcess.output();
    expect(status.code).toBe(1); // b-broken failed
    const jobId = /job (\S+) \(normal\) failed/.exec(output)?.[1];
    expect(jobId).toBeDefined();

    // Spans: exported as OTLP/HTTP protobuf (the default for an http:// endpoint), all in one trace.
    expect(receiver.contentTypes[0]).toBe("application/x-protobuf");
    const spans = receiver.spans;
    const job = spans.filter((s) => s.name === "sling.job");
    expect(job).toHaveLength(1);
    const pipelineSpans = spans.filter((s) => s.name === "sling.pipeline");
    expect(pipelineSpans.map((s) => s.attributes.pipeline)).toEqual(["a-good", "b-broken"]);
    for (const s of pipelineSpans) {
      expect(s.traceId).toBe(job[0].traceId);
      expect(s.parentSpanId).toBe(job[0].spanId);
    }
    expect(job[0].resource).toMatchObject({ "service.name": "conveyor-sling", mission_cluster_id: "mars-1" });
    expect(job[0].attributes).toMatchObject({
      sync_job_id: jobId,
      status: "failed",
      rows_synced: 40,
      pipelines_failed: 1,
    });
    expect(output).toContain(`trace ${job[0].traceId}`);

    const [good, broken] = pipelineSpans;
    expect(good.attributes).toMatchObject({
      sync_job_id: jobId,
      mission_cluster_id: "mars-1",
      pipeline: "a-good",
      rows_synced: 40,
      status: "succeeded",
      attempt: 1,
    });
    expect(good.attributes.duration_seconds).toBeGreaterThan(0);
    expect(good.statusCode).not.toBe(2);
    const messages = good.events
      .filter((e) => e.name === "sling.log")
      .map((e) => e.attributes["log.message"]);
    expect(messages).toContainEqual(expect.stringMatching(/^inserted 40 rows into/));
    expect(messages).toContain("execution succeeded");

    expect(broken.attributes).toMatchObject({
      pipeline: "b-broken",
      rows_synced: 0,
      status: "failed",
      attempt: 2,
    });
    expect(broken.attributes.error_code).toBe("SLING_PIPELINE_FAILED");
    expect(broken.statusCode).toBe(2);
    expect(broken.events.filter((e) => e.name === "attempt.failed").map((e) => e.attributes.attempt)).toEqual(
      [1, 2],
    );
    expect(
      broken.events.some((e) => e.name === "sling.log" && e.attributes["log.severity"] === "fatal"),
    ).toBe(true);

    // Logs ↔ traces: each Sling line is a JSON log line with the trace id and its pipeline's span id.
    const logs = output
      .split("\n")
      .filter((l) => l.startsWith('{"level"'))
      .map((l) => JSON.parse(l) as { [k: string]: unknown });
    const inserted = logs.find((l) => /^inserted 40 rows/.test(String(l.msg)));
    expect(inserted).toMatchObject({
      trace_id: job[0].traceId,
      span_id: good.spanId,
      sync_job_id: jobId,
      pipeline: "a-good",
      sling_level: "info",
    });

    // Metrics: valid exposition format, with the job's figures.
    const text = fs.readFileSync(metricsFile, "utf8");
    // The Sling families alone are promtool-clean; on the whole page promtool only flags the process-wide
    // prom-client defaults of src/telemetry/metrics.ts (three gauges named *_total), never a Sling metric.
    const slingFamilies = text
      .split(/\n(?=# HELP )/)
      .filter((block) => block.startsWith("# HELP conveyor_sling_"))
      .join("\n");
    expect(slingFamilies.match(/^# HELP /gm)).toHaveLength(8);
    expect(await promtool(`${slingFamilies}\n`)).toEqual({ code: 0, output: "" });
    expect((await promtool(text)).output).not.toContain("conveyor_sling_");
    expect(text).toMatch(/^conveyor_sling_rows_synced_total\{pipeline="a-good"\} 40$/m);
    expect(text).toMatch(/^conveyor_sling_pipeline_failures_total\{pipeline="b-broken"\} 1$/m);
    expect(text).toMatch(/^conveyor_sling_job_runs_total\{mode="normal",status="failed"\} 1$/m);
    expect(text).toMatch(/^conveyor_sling_attempts_total\{pipeline="b-broken",outcome="failed"\} 2$/m);
    expect(text).toMatch(/^conveyor_sling_pipeline_duration_seconds_count\{pipeline="a-good"\} 1$/m);
  });

  it("exports nothing and still logs trace ids when OTEL_EXPORTER_OTLP_ENDPOINT is unset", async () => {
    receiver = await startOtlpReceiver();
    const mission = path.join(dir, "mission.db");
    await addMissionRows(
      SLING,
      { SLING_HOME_DIR: path.join(dir, ".sling"), PATH: process.env.PATH },
      mission,
      1,
      5,
    );
    const file = path.join(dir, "one.yaml");
    writeReplication(file, {
      source: "MISSION",
      target: "COMMAND",
      stream: "main.telemetry",
      object: "main.t",
    });
    cliProcess = ManagedProcess.conveyor("conveyor-sling", ["sling", "run", "--config", file], {
      PATH: process.env.PATH,
      HOME: dir,
      SLING_HOME_DIR: path.join(dir, ".sling"),
      SLING_BIN: SLING,
      SLING_STATE: `file://${path.join(dir, "state.json")}`,
      MISSION: `sqlite://${mission}`,
      COMMAND: `sqlite://${path.join(dir, "command.db")}`,
    });
    expect((await cliProcess.exited).code).toBe(0);
    expect(receiver.spans).toHaveLength(0);
    expect(cliProcess.output()).toMatch(/"trace_id":"[0-9a-f]{32}".*"msg":"inserted 5 rows into/);
  });
});
