import { formatTraceparent, parseTraceparent, traceOf } from "./tracing";
import { makeRecord } from "../records";

describe("traceparent", () => {
  const tid = "4bf92f3577b34da6a3ce929d0e0e4736";
  const sid = "00f067aa0ba902b7";

  it("parses and formats W3C traceparent, keeping only the sampled flag", () => {
    const sc = parseTraceparent(`00-${tid}-${sid}-01`);
    expect(sc).toEqual({ traceId: tid, spanId: sid, traceFlags: 1, isRemote: true });
    expect(formatTraceparent(sc!)).toBe(`00-${tid}-${sid}-01`);
    expect(parseTraceparent(`00-${tid}-${sid}-00`)?.traceFlags).toBe(0);
  });

  it("rejects malformed and invalid values", () => {
    expect(parseTraceparent("nonsense")).toBeUndefined();
    expect(parseTraceparent(`ff-${tid}-${sid}-01`)).toBeUndefined();
    expect(parseTraceparent(`00-${"0".repeat(32)}-${sid}-01`)).toBeUndefined();
    expect(parseTraceparent(`00-${tid}-${sid}-01-extra`)).toBeUndefined();
  });

  it("reads a record's trace from its headers", () => {
    const r = makeRecord({ value: Buffer.from("x"), headers: { traceparent: `00-${tid}-${sid}-01` } });
    expect(traceOf(r)?.traceId).toBe(tid);
    expect(traceOf(makeRecord({ value: Buffer.from("x") }))).toBeUndefined();
  });
});
