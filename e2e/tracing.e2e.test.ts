/**
 * One record's trace across two pods, as a real receiver sees it: Jaeger (v2 all-in-one, memory storage)
 * takes OTLP from sidecar A over gRPC and from sidecar B over HTTP with protobuf (the default for an
 * http:// endpoint; http/json is checked against a plain HTTP server in src/telemetry/otlp-exporter.test.ts).
 * A record injected on pod A with its
 * own traceparent crosses the peer hop into pod B's transform and sink; Jaeger's query API must return
 * its trace with the spans of both sidecars, the transform and the sink, each the child of the one
 * before, with pods, stages, batch ids and attempts. An injected record whose traceparent says "not
 * sampled" leaves no trace (parent-based sampling), records read from the source get traces of their
 * own, the batch spans link the records' spans, and the gRPC instrumentation traces the compiled servers.
 * The transform (e2e/stages/poison-transform.ts --by-header) fails a record marked `poison: once` on its
 * first attempt (its trace has both attempts, the first failed) and one marked `poison: fatal` for good
 * (its trace reaches the dead-letter sink's write); sidecar B's log lines about them carry their trace ids.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { LocalCluster } from "../src/cluster/local-cluster";
import { DataPlaneApi } from "../src/cli/dataplane-client";
import { Jaeger, renderTrace, tagOf, type JaegerSpan, type JaegerTrace } from "../src/testing/jaeger";
import { freePortBlock } from "./harness/ports";
import { adminClient, applyPipeline, countLines, eventually, readSinkFile } from "./harness/pipeline";

jest.setTimeout(60_000);

const ROUTER_HOST = "127.0.14.1";
const POD_A = "127.0.14.2";
const POD_B = "127.0.14.3";
const SOURCE_RECORDS = 5;

const pipeline = (dlqDir: string): string => `name: orders
source: { stage: gen }
steps: [ { stage: enrich } ]
sink: { stage: out }
dlq:
  sink: { builtin: file, config: { dir: ${dlqDir} } }
  maxRetries: 1
  backoffMs: 50
`;

const hex = (bytes: number): string => randomBytes(bytes).toString("hex");

function pod(trace: JaegerTrace, span: JaegerSpan): unknown {
  return (
    tagOf(span, "k8s.pod.name") ?? trace.processes[span.processID]?.tags.find((t) => t.key === "k8s.pod.name")
  );
}

function parentOf(span: JaegerSpan): string | undefined {
  return span.references.find((r) => r.refType === "CHILD_OF")?.spanID;
}

/** The trace `traceId` once Jaeger has spans named `ops` (a name twice: two such spans). */
async function traceWith(jaeger: Jaeger, traceId: string, ops: string[]): Promise<JaegerTrace> {
  let found: JaegerTrace | undefined;
  await eventually(
    async () => {
      found = await jaeger.trace(traceId);
      const names = found?.spans.map((s) => s.operationName) ?? [];
      return ops.every((op) => names.filter((n) => n === op).length >= ops.filter((o) => o === op).length);
    },
    10_000,
    () => `spans of ${traceId}: ${found?.spans.map((s) => s.operationName).join(", ") ?? "none"}`,
  );
  return found!;
}

describe("tracing", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-tracing-"));
  const cluster = new LocalCluster(dir);
  let jaeger: Jaeger | undefined;
  let base = 0;

  beforeAll(async () => {
    base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 12);
    const j = await freePortBlock(["127.0.0.1"], 4);
    jaeger = await Jaeger.start(
      { host: "127.0.0.1", otlpGrpc: j, otlpHttp: j + 1, query: j + 2, queryGrpc: j + 3 },
      path.join(dir, "jaeger.log"),
    );
  });

  afterAll(async () => {
    await cluster.stopAll();
    await jaeger?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("shows an injected record's spans on both sidecars, the transform and the sink, in order", async () => {
    const router = `${ROUTER_HOST}:${base}`;
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 1 });
    const admin = adminClient(router);
    const dlqDir = path.join(dir, "dlq");
    await applyPipeline(admin, pipeline(dlqDir));
    admin.close();
    const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11 };
    const otel = {
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "1",
      OTEL_BSP_SCHEDULE_DELAY: "200",
    };
    await cluster.startStage({
      kind: "source",
      name: "gen",
      host: POD_A,
      port: base + 2,
      count: SOURCE_RECORDS,
    });
    await cluster.startCustomStage(
      "poison-transform",
      "e2e/stages/poison-transform.ts",
      [
        "--name",
        "enrich",
        "--host",
        POD_B,
        "--port",
        String(base + 2),
        "--fail-log",
        path.join(dir, "fails"),
        "--by-header",
      ],
      `${POD_B}:${base + 2}`,
    );
    await cluster.startStage({ kind: "sink", name: "out", host: POD_B, port: base + 3, dir });
    await cluster.startSidecar({
      id: "a",
      host: POD_A,
      port: base + 1,
      router,
      ...discovery,
      env: {
        ...otel,
        OTEL_EXPORTER_OTLP_ENDPOINT: jaeger!.otlpGrpcEndpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      },
    });
    const sidecarB = await cluster.startSidecar({
      id: "b",
      host: POD_B,
      port: base + 1,
      router,
      ...discovery,
      env: {
        ...otel,
        // No protocol: an http:// endpoint not on 4317 is http/protobuf.
        OTEL_EXPORTER_OTLP_ENDPOINT: jaeger!.otlpHttpEndpoint,
      },
    });
    const sinkFile = path.join(dir, "out.ndjson");
    await eventually(
      () => countLines(sinkFile) >= SOURCE_RECORDS,
      20_000,
      () => "source records arrived",
    );

    // A user's trace: its span 'userSpan' is the parent of the record's first Conveyor span.
    const traceId = hex(16);
    const userSpan = hex(8);
    const unsampledTraceId = hex(16);
    const retriedTraceId = hex(16);
    const deadTraceId = hex(16);
    const api = new DataPlaneApi(`${POD_A}:${base + 1}`);
    try {
      const res = await api.inject(
        "orders",
        "enrich",
        [
          {
            id: "traced-1",
            key: "k1",
            valueJson: '{"n":1}',
            headers: { traceparent: `00-${traceId}-${userSpan}-01` },
          },
          {
            id: "untraced-1",
            key: "k2",
            valueJson: '{"n":2}',
            headers: { traceparent: `00-${unsampledTraceId}-${hex(8)}-00` },
          },
          {
            id: "retried-1",
            valueJson: '{"n":3}',
            headers: { traceparent: `00-${retriedTraceId}-${hex(8)}-01`, poison: "once" },
          },
          {
            id: "dead-1",
            valueJson: '{"n":4}',
            headers: { traceparent: `00-${deadTraceId}-${hex(8)}-01`, poison: "fatal" },
          },
        ],
        15_000,
      );
      expect(res.delivered).toBe(3);
      expect(res.deadLettered).toBe(1);
    } finally {
      api.close();
    }

    let trace: JaegerTrace | undefined;
    const want = ["inject orders", "forward enrich", "receive enrich", "transform enrich", "sink out"];
    await eventually(
      async () => {
        trace = await jaeger!.trace(traceId);
        const ops = new Set(trace?.spans.map((s) => s.operationName));
        return want.every((o) => ops.has(o));
      },
      15_000,
      () => `spans in Jaeger: ${trace?.spans.map((s) => s.operationName).join(", ") ?? "none"}`,
    );
    const byOp = (op: string): JaegerSpan => trace!.spans.find((s) => s.operationName === op)!;
    const chain = want.map(byOp);
    // Each span is the child of the one before, the first of the user's span; they start in order.
    expect(parentOf(chain[0]!)).toBe(userSpan);
    for (let i = 1; i < chain.length; i++) {
      expect(parentOf(chain[i]!)).toBe(chain[i - 1]!.spanID);
      expect(chain[i]!.startTime).toBeGreaterThanOrEqual(chain[i - 1]!.startTime);
    }
    const [inject, forward, receive, transform, sink] = chain as [
      JaegerSpan,
      JaegerSpan,
      JaegerSpan,
      JaegerSpan,
      JaegerSpan,
    ];
    expect([inject, forward, receive, transform, sink].map((s) => pod(trace!, s))).toEqual([
      "pod-a",
      "pod-a",
      "pod-b",
      "pod-b",
      "pod-b",
    ]);
    expect(tagOf(inject, "conveyor.record.id")).toBe("traced-1");
    expect(tagOf(forward, "conveyor.peer.address")).toBe(`${POD_B}:${base + 1}`);
    expect(tagOf(receive, "conveyor.peer.sender")).toBe("a");
    // The peer hop's batch id is the same on both ends.
    expect(tagOf(receive, "conveyor.batch.id")).toBe(tagOf(forward, "conveyor.batch.id"));
    for (const [span, stage, kind] of [
      [transform, "enrich", "transform"],
      [sink, "out", "sink"],
    ] as const) {
      expect(tagOf(span, "conveyor.pipeline")).toBe("orders");
      expect(tagOf(span, "conveyor.stage")).toBe(stage);
      expect(tagOf(span, "conveyor.stage.kind")).toBe(kind);
      expect(tagOf(span, "conveyor.attempt")).toBe(1);
      expect(typeof tagOf(span, "conveyor.batch.id")).toBe("number");
      expect(tagOf(span, "conveyor.sidecar.id")).toBe("b");
      expect(tagOf(span, "error")).toBeUndefined();
    }

    // The record reached the sink carrying its trace (the transform span as its parent).
    const written = readSinkFile(sinkFile).find((l) => l.id === "traced-1");
    expect(written?.headers.traceparent).toBe(`00-${traceId}-${transform.spanID}-01`);

    // The sink's batch span is a trace of its own that links the record's sink span.
    let linked = false;
    await eventually(
      async () => {
        const batches = await jaeger!.traces("conveyor-sidecar", "batch sink out", 50);
        linked = batches.some((t) =>
          t.spans.some((s) =>
            s.references.some((r) => r.refType === "FOLLOWS_FROM" && r.spanID === sink.spanID),
          ),
        );
        return linked;
      },
      10_000,
      () => "a batch span linking the sink span",
    );

    // Records read from the source are sampled at the source (ratio 1 here) and traced to the sink.
    const fromSource = await jaeger!.traces("conveyor-sidecar", "source gen", 20);
    const sourceTrace = fromSource.find((t) => t.spans.some((s) => s.operationName === "sink out"));
    expect(sourceTrace).toBeDefined();
    const read = sourceTrace!.spans.find((s) => s.operationName === "source gen")!;
    expect(parentOf(read)).toBeUndefined();
    expect(pod(sourceTrace!, read)).toBe("pod-a");
    expect(typeof tagOf(read, "conveyor.cursor")).toBe("string");
    // docs/tracing.md shows these renderings (CONVEYOR_TRACE_OUT=file).
    if (process.env.CONVEYOR_TRACE_OUT) {
      const shown = ["k8s.pod.name", "conveyor.batch.id", "conveyor.attempt", "conveyor.cursor", "error"];
      fs.writeFileSync(
        process.env.CONVEYOR_TRACE_OUT,
        `${renderTrace(trace!, shown)}\n\n${renderTrace(sourceTrace!, shown)}\n`,
      );
    }
    // The gRPC instrumentation patched the compiled servers: Inject has a server span.
    const injectCalls = await jaeger!.traces("conveyor-sidecar", "grpc.conveyor.v1.DataPlane/Inject", 5);
    expect(injectCalls.length).toBeGreaterThanOrEqual(1);

    // Not sampled by its own traceparent: no span at all (both sidecars exported since).
    expect(await jaeger!.trace(unsampledTraceId)).toBeUndefined();

    // A retried record: two transform spans, attempts 1 (failed, retryable) and 2, siblings under the
    // receive span; then the sink.
    const retried = await traceWith(jaeger!, retriedTraceId, [
      "transform enrich",
      "transform enrich",
      "sink out",
    ]);
    const attempts = retried.spans
      .filter((s) => s.operationName === "transform enrich")
      .sort((x, y) => Number(tagOf(x, "conveyor.attempt")) - Number(tagOf(y, "conveyor.attempt")));
    expect(attempts.map((s) => tagOf(s, "conveyor.attempt"))).toEqual([1, 2]);
    expect(tagOf(attempts[0]!, "error")).toBe(true);
    expect(tagOf(attempts[0]!, "conveyor.error.retryable")).toBe(true);
    expect(typeof tagOf(attempts[0]!, "conveyor.error.code")).toBe("string");
    expect(tagOf(attempts[1]!, "error")).toBeUndefined();
    expect(parentOf(attempts[0]!)).toBe(parentOf(attempts[1]!));
    const retriedSink = retried.spans.find((s) => s.operationName === "sink out")!;
    expect(parentOf(retriedSink)).toBe(attempts[1]!.spanID);

    // A poisoned record: its failed transform span, then the dead-letter sink's write in the same trace,
    // saying which stage failed it, with what code, after how many attempts.
    const dead = await traceWith(jaeger!, deadTraceId, ["transform enrich", "sink dlq"]);
    const failed = dead.spans.find((s) => s.operationName === "transform enrich")!;
    const dlqWrite = dead.spans.find((s) => s.operationName === "sink dlq")!;
    expect(tagOf(failed, "error")).toBe(true);
    expect(tagOf(failed, "conveyor.error.retryable")).toBe(false);
    const code = tagOf(failed, "conveyor.error.code");
    expect(typeof code).toBe("string");
    expect(tagOf(dlqWrite, "conveyor.dead_letter")).toBe(true);
    expect(tagOf(dlqWrite, "conveyor.stage")).toBe("dlq");
    expect(tagOf(dlqWrite, "conveyor.dead_letter.stage")).toBe("enrich");
    expect(tagOf(dlqWrite, "conveyor.dead_letter.error.code")).toBe(code);
    expect(tagOf(dlqWrite, "conveyor.dead_letter.attempts")).toBe(1);
    expect(tagOf(dlqWrite, "error")).toBeUndefined();
    // The dead letter keeps the record's trace: the failed attempt and the DLQ write share a parent.
    expect(parentOf(dlqWrite)).toBe(parentOf(failed));

    // Sidecar B's data-path log lines about them carry their trace ids.
    const logLines = sidecarB.process
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg?: string; trace_id?: string; span_id?: string });
    const lineOf = (msg: string): { trace_id?: string; span_id?: string } | undefined =>
      logLines.find((l) => l.msg === msg);
    expect(lineOf("records failed at a stage; retrying them")?.trace_id).toBe(retriedTraceId);
    expect(lineOf("records sent to the dead-letter sink")?.trace_id).toBe(deadTraceId);
    expect(lineOf("records sent to the dead-letter sink")?.span_id).toMatch(/^[0-9a-f]{16}$/);
    if (process.env.CONVEYOR_TRACE_OUT) {
      const shown = [
        "k8s.pod.name",
        "conveyor.attempt",
        "conveyor.error.code",
        "conveyor.dead_letter.stage",
        "conveyor.dead_letter.error.code",
        "error",
      ];
      fs.appendFileSync(
        process.env.CONVEYOR_TRACE_OUT,
        `\n${renderTrace(retried, shown)}\n\n${renderTrace(dead, shown)}\n`,
      );
    }
  });
});
