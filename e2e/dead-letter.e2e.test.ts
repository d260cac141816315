/**
 * Dead letters through real processes: a generator in pod A, a transform in
 * pod B that fails some records (retryably every time, or non-retryably), and
 * built-in file sinks for the output and the dead letters. The DLQ must get
 * exactly the poisoned records with the _dlq_ headers, after the retries the
 * pipeline asked for, spaced by its backoff; every other record reaches the sink.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalCluster } from "../src/cluster/local-cluster";
import { AdminApi } from "../src/cli/admin-client";
import { poisonOf, poisonScenario, startPoisonStages } from "./harness/poison-pipeline";
import { freePortBlock } from "./harness/ports";
import { eventually, readSinkFile } from "./harness/pipeline";

jest.setTimeout(120_000);

const ROUTER_HOST = "127.0.13.1";
const POD_A = "127.0.13.2";
const POD_B = "127.0.13.3";
const COUNT = 500;
const MAX_RETRIES = 2;
const BACKOFF_MS = 200;

describe("dead-letter sink", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-dlq-"));
  const scenario = poisonScenario(dir, {
    maxRetries: MAX_RETRIES,
    backoffMs: BACKOFF_MS,
    maxBackoffMs: 1000,
  });
  const { outDir, dlqDir, failLog } = scenario;
  const cluster = new LocalCluster(dir);
  let base = 0;
  let api: AdminApi;

  beforeAll(async () => {
    base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 12);
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 1 });
    api = new AdminApi(`${ROUTER_HOST}:${base}`);
  });

  afterAll(async () => {
    api?.close();
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("receives exactly the poisoned records, with _dlq_ headers, after the configured retries and backoff", async () => {
    await api.applyPipeline({ definition: scenario.definition });
    const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11 };
    await startPoisonStages(cluster, scenario, { podA: POD_A, podB: POD_B, port: base + 2, count: COUNT });
    await cluster.startSidecar({
      id: "a",
      host: POD_A,
      port: base + 1,
      router: `${ROUTER_HOST}:${base}`,
      ...discovery,
    });
    await cluster.startSidecar({
      id: "b",
      host: POD_B,
      port: base + 1,
      router: `${ROUTER_HOST}:${base}`,
      ...discovery,
    });

    const poisoned = new Map<string, "retryable" | "fatal">();
    const clean = new Set<string>();
    for (let i = 0; i < COUNT; i++) {
      const p = poisonOf(i);
      if (p) poisoned.set(`gen-${i}`, p);
      else clean.add(`gen-${i}`);
    }
    // The built-in file sink writes <pipeline>-<sidecar>.ndjson; both sinks run beside the transform, on b.
    const outFile = path.join(outDir, "checked-b.ndjson");
    const dlqFile = path.join(dlqDir, "checked-b.ndjson");
    const ids = (file: string): Set<string> => new Set(readSinkFile(file).map((l) => l.id));
    await eventually(
      () => ids(outFile).size >= clean.size && ids(dlqFile).size >= poisoned.size,
      90_000,
      () => `sink has ${ids(outFile).size} of ${clean.size}, dlq ${ids(dlqFile).size} of ${poisoned.size}`,
    );

    expect(ids(outFile)).toEqual(clean);
    const dead = readSinkFile(dlqFile);
    expect(new Set(dead.map((l) => l.id))).toEqual(new Set(poisoned.keys()));
    for (const line of dead) {
      const kind = poisoned.get(line.id)!;
      expect(line.headers).toMatchObject({
        _dlq_stage: "check",
        _dlq_attempts: kind === "retryable" ? String(MAX_RETRIES + 1) : "1",
        _dlq_error:
          kind === "retryable"
            ? expect.stringContaining(`record ${line.id} is poisoned`)
            : expect.stringContaining(`record ${line.id} can never be processed`),
      });
      expect(Number.isNaN(Date.parse(line.headers._dlq_ts!))).toBe(false);
      // The record itself is kept as it entered the failing stage.
      expect(line.headers.checked).toBeUndefined();
    }

    // Retries follow the backoff: attempt k+1 comes at least half the k-th ceiling (jitter) after attempt k.
    const attempts = new Map<string, number[]>();
    for (const l of fs.readFileSync(failLog, "utf8").split("\n").filter(Boolean)) {
      const { id, t } = JSON.parse(l) as { id: string; t: number };
      attempts.set(id, [...(attempts.get(id) ?? []), t]);
    }
    for (const [id, kind] of poisoned) {
      const times = attempts.get(id) ?? [];
      if (kind === "fatal") {
        expect(times).toHaveLength(1);
        continue;
      }
      expect(times).toHaveLength(MAX_RETRIES + 1);
      for (let k = 1; k < times.length; k++) {
        const ceiling = BACKOFF_MS * 2 ** (k - 1);
        expect(times[k]! - times[k - 1]!).toBeGreaterThanOrEqual(ceiling / 2 - 5);
      }
    }

    // conveyor status: the transform's dead letters are counted.
    await eventually(
      async () => {
        const status = await api.getPipelineStatus("checked");
        const check = status.stages.find((s) => s.stage === "check");
        return Number(check?.dlqCount ?? 0) === poisoned.size;
      },
      10_000,
      () => "GetPipelineStatus never reported every dead letter of stage check",
    );
  });
});
