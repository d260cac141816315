/**
 * A pipeline whose stages are Python grpcio services (e2e/stages/python), on
 * two loopback "pods": the source in pod A, the transform and the sink in pod
 * B (one peer hop). The stubs are generated from proto/ at test time.
 *
 * The source sends its first records, then stays quiet for longer than three
 * minutes with every stream open (no data on its channel), then sends more;
 * meanwhile the transform takes as long to answer the batch holding the last
 * of the first records (a call of more than three minutes, no data on its
 * stream either).
 * gRPC C-core servers (Python's) accept a keepalive ping only every 5 minutes
 * without data and close the connection after two strikes ("too_many_pings");
 * the sidecar's stage channels must suit that default policy: the slow batch
 * and the records after the pause arrive, no stream is torn down, nothing
 * fails or is dead-lettered.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalCluster } from "../src/cluster/local-cluster";
import { REPO_ROOT } from "../src/cluster/managed-process";
import { grpcPython } from "../src/testing/tools";
import { freePortBlock } from "./harness/ports";
import { fetchMetrics, sumSamples } from "./harness/metrics";
import {
  adminClient,
  applyPipeline,
  countLines,
  eventually,
  listAssignments,
  readSinkFile,
} from "./harness/pipeline";

const FIRST = 300;
const THEN = 200;
/**
 * The source's quiet spell and the slow transform call: longer than 3 minutes
 * (C-core closes a connection idle for ~2 min under 30 s pings: two strikes).
 */
const PAUSE_SECS = 190;
const SLOW_ID = `py-${FIRST - 1}`;

jest.setTimeout(280_000);

const ROUTER_HOST = "127.0.14.1";
const POD_A = "127.0.14.2";
const POD_B = "127.0.14.3";
const STAGES = path.join(REPO_ROOT, "e2e", "stages", "python");

const PIPELINE = `name: pystages
source: { stage: gen }
steps: [ { stage: twice } ]
sink: { stage: out }
settings: { stageTimeoutMs: ${(PAUSE_SECS + 60) * 1000} }
`;

/** Generates the Python stubs of proto/conveyor/v1 into `dir` (grpc_tools.protoc, as a stage author would). */
function generateStubs(python: string, dir: string): void {
  const proto = path.join(REPO_ROOT, "proto");
  execFileSync(python, [
    "-m",
    "grpc_tools.protoc",
    `-I${proto}`,
    `--python_out=${dir}`,
    `--grpc_python_out=${dir}`,
    path.join(proto, "conveyor", "v1", "record.proto"),
    path.join(proto, "conveyor", "v1", "stages.proto"),
  ]);
}

describe("stages written in Python", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-python-stages-"));
  const cluster = new LocalCluster(dir);
  let base = 0;
  let router = "";

  beforeAll(async () => {
    base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 14);
    router = `${ROUTER_HOST}:${base}`;
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 1 });
  });

  afterAll(async () => {
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("runs source → transform → sink in Python, across a quiet spell of more than 3 minutes", async () => {
    const python = grpcPython();
    const stubs = path.join(dir, "stubs");
    fs.mkdirSync(stubs);
    generateStubs(python, stubs);
    const env = {
      PYTHONPATH: `${stubs}${path.delimiter}${STAGES}`,
      PYTHONUNBUFFERED: "1",
      PYTHONDONTWRITEBYTECODE: "1",
    };
    const py = (name: string, script: string, host: string, port: number, args: string[]): Promise<unknown> =>
      cluster.startExternalStage(
        `py-${name}`,
        python,
        [path.join(STAGES, script), "--name", name, "--host", host, "--port", String(port), ...args],
        `${host}:${port}`,
        { env },
      );
    const sinkFile = path.join(dir, "out.ndjson");

    const admin = adminClient(router);
    try {
      await applyPipeline(admin, PIPELINE);
      const args = ["--first", String(FIRST), "--pause-secs", String(PAUSE_SECS), "--then", String(THEN)];
      await py("gen", "source.py", POD_A, base + 2, args);
      await py("twice", "transform.py", POD_B, base + 2, [
        "--slow-id",
        SLOW_ID,
        "--slow-secs",
        String(PAUSE_SECS),
      ]);
      await py("out", "sink.py", POD_B, base + 3, ["--file", sinkFile]);
      const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11 };
      const metricsPort = base + 12;
      await cluster.startSidecar({ id: "a", host: POD_A, port: base + 1, router, metricsPort, ...discovery });
      await cluster.startSidecar({ id: "b", host: POD_B, port: base + 1, router, metricsPort, ...discovery });

      const started = Date.now();
      // The batches before the slow one go through at once.
      await eventually(
        () => countLines(sinkFile) >= FIRST / 2,
        60_000,
        () => `${countLines(sinkFile)} of the first ${FIRST} records arrived`,
      );
      const assignments = await listAssignments(admin, "pystages");
      expect(Object.fromEntries(assignments.map((a) => [a.stage, a.sidecarId]))).toEqual({
        gen: "a",
        twice: "b",
        out: "b",
      });
      // Then nothing for PAUSE_SECS: the source is quiet and the transform holds the slow batch.
      await eventually(
        () => countLines(sinkFile) >= FIRST + THEN,
        (PAUSE_SECS + 45) * 1000,
        () => `${countLines(sinkFile)} of ${FIRST + THEN} records arrived`,
      );
      expect(Date.now() - started).toBeGreaterThan((PAUSE_SECS - 10) * 1000);

      const lines = readSinkFile(sinkFile);
      const byId = new Map(lines.map((l) => [l.id, l]));
      expect(byId.size).toBe(FIRST + THEN);
      for (let n = 0; n < FIRST + THEN; n++) {
        const got = byId.get(`py-${n}`);
        if (!got) throw new Error(`record py-${n} is missing`);
        expect(got.key).toBe(`k${n % 16}`);
        expect(JSON.parse(String(got.value))).toEqual({ n, twice: 2 * n });
        expect(got.headers).toEqual({ py: "transformed" });
      }
      // Each record once: no stream broke and replayed unacked records.
      expect(lines.length).toBe(FIRST + THEN);

      for (const pod of [POD_A, POD_B]) {
        const text = await fetchMetrics(`http://${pod}:${metricsPort}/metrics`);
        for (const name of [
          "conveyor_stage_errors_total",
          "conveyor_stage_retries_total",
          "conveyor_dlq_records_total",
        ])
          expect({ pod, name, value: sumSamples(text, name, {}) }).toEqual({ pod, name, value: 0 });
      }
      for (const id of ["a", "b"]) {
        const log = fs.readFileSync(path.join(dir, `sidecar-${id}.log`), "utf8");
        expect(log).not.toMatch(/too_many_pings|excess pings|GOAWAY|ENHANCE_YOUR_CALM|RESOURCE_EXHAUSTED/i);
        expect(log).not.toMatch(/stream to endpoint broke/);
      }
    } finally {
      admin.close();
    }
  });
});
