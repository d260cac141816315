import { ROOT_CONTEXT, context, trace, TraceFlags } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { makeRecord } from "../records";
import { componentLogger, rootLogger, traceMixin } from "./log";
import { enableRecordTracing, inTraceOf } from "./tracing";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";

/** A logger whose lines land in `lines`, parsed, and in `raw`, as written. */
function capture(): {
  log: ReturnType<typeof rootLogger>;
  lines: Array<{ [key: string]: unknown }>;
  raw: string[];
} {
  const lines: Array<{ [key: string]: unknown }> = [];
  const raw: string[] = [];
  const log = rootLogger({
    write: (s: string) => {
      raw.push(s);
      lines.push(JSON.parse(s) as { [key: string]: unknown });
    },
  });
  return { log, lines, raw };
}

describe("componentLogger", () => {
  it("replaces the parent's component instead of writing the key twice, and keeps the other bindings", () => {
    const { log, lines, raw } = capture();
    const sidecar = log.child({ component: "sidecar", sidecarId: "a" });
    // What the sidecar and the router cluster do: a part of a component, under other bindings.
    componentLogger(sidecar, "forwarder").info({ batch: 1 }, "one");
    componentLogger(sidecar.child({ router: "r1:7070" }), "console").warn("two");
    componentLogger(componentLogger(sidecar, "sources"), "runner").info("three");
    componentLogger(log, "plain").info("four");
    sidecar.info("five");
    for (const line of raw) expect(line.match(/"component":/g)).toHaveLength(1);
    expect(lines.map((l) => l.component)).toEqual(["forwarder", "console", "runner", "plain", "sidecar"]);
    expect(lines[0]).toMatchObject({ sidecarId: "a", pid: process.pid, batch: 1, msg: "one", level: 30 });
    expect(lines[1]).toMatchObject({ sidecarId: "a", router: "r1:7070", level: 40 });
    expect(lines[3]).not.toHaveProperty("sidecarId");
    // (What pino's child does: the key twice, the last one wins in JSON.parse.)
    const { log: other, raw: twice } = capture();
    other.child({ component: "sidecar" }).child({ component: "forwarder" }).info("x");
    expect(twice[0]!.match(/"component":/g)).toHaveLength(2);
  });

  it("keeps the parent's level and the trace mixin", () => {
    const { log, lines } = capture();
    const parent = log.child({ component: "sidecar" });
    parent.level = "warn";
    const part = componentLogger(parent, "forwarder");
    part.info("dropped");
    part.warn("kept");
    expect(lines.map((l) => l.msg)).toEqual(["kept"]);
  });
});

describe("trace ids in log lines", () => {
  const manager = new AsyncLocalStorageContextManager();

  beforeAll(() => {
    // What the SDK installs when tracing is on (src/telemetry/tracing-sdk.ts); record tracing with the
    // API's tracer is enough for inTraceOf.
    context.setGlobalContextManager(manager.enable());
    enableRecordTracing();
  });

  afterAll(() => {
    context.disable();
  });

  it("adds nothing outside a trace", () => {
    expect(traceMixin()).toEqual({});
    const { log, lines } = capture();
    componentLogger(log, "forwarder").warn("no trace here");
    expect(lines[0]).not.toHaveProperty("trace_id");
    expect(lines[0]).not.toHaveProperty("span_id");
  });

  it("adds trace_id and span_id of the active span context", () => {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
    });
    expect(context.with(ctx, traceMixin)).toEqual({ trace_id: TRACE_ID, span_id: SPAN_ID });
  });

  it("carries a sampled record's ids on a data-path line logged in its trace (inTraceOf)", async () => {
    const { log, lines } = capture();
    const traced = makeRecord({
      id: "r1",
      value: Buffer.from("x"),
      headers: { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` },
    });
    const plain = makeRecord({ id: "r0", value: Buffer.from("y") });
    // As the forwarder logs a retry: the first traced record of the batch gives the trace.
    await inTraceOf([plain, traced], async () => {
      await Promise.resolve(); // the context survives an await, as on the data path
      componentLogger(log.child({ component: "sidecar" }), "forwarder").warn(
        { recordId: "r1" },
        "records failed at a stage; retrying them",
      );
    });
    inTraceOf([plain], () => log.warn("a batch with no traced record"));
    expect(lines[0]).toMatchObject({ component: "forwarder", trace_id: TRACE_ID, span_id: SPAN_ID });
    expect(lines[1]).not.toHaveProperty("trace_id");
  });
});
