import { ROOT_CONTEXT, context, trace, TraceFlags } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { makeRecord } from "../records";
import { rootLogger, traceMixin } from "./log";
import { enableRecordTracing, inTraceOf } from "./tracing";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";

/** A logger whose lines land in `lines`, parsed. */
function capture(): { log: ReturnType<typeof rootLogger>; lines: Array<{ [key: string]: unknown }> } {
  const lines: Array<{ [key: string]: unknown }> = [];
  const log = rootLogger({
    write: (s: string) => void lines.push(JSON.parse(s) as { [key: string]: unknown }),
  });
  return { log, lines };
}

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
    log.child({ component: "forwarder" }).warn("no trace here");
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
      log
        .child({ component: "forwarder" })
        .warn({ recordId: "r1" }, "records failed at a stage; retrying them");
    });
    inTraceOf([plain], () => log.warn("a batch with no traced record"));
    expect(lines[0]).toMatchObject({ component: "forwarder", trace_id: TRACE_ID, span_id: SPAN_ID });
    expect(lines[1]).not.toHaveProperty("trace_id");
  });
});
