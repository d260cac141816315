import { LATENCY_BOUNDS_MS, LatencyHistogram, bucketOf, quantileOf } from "./latency-histogram";

describe("latency histogram", () => {
  it("puts a latency in the first bucket whose bound is not below it", () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(0.25)).toBe(0);
    expect(bucketOf(0.3)).toBe(1);
    expect(bucketOf(3)).toBe(LATENCY_BOUNDS_MS.indexOf(4));
    expect(bucketOf(1e9)).toBe(LATENCY_BOUNDS_MS.length);
  });

  it("reads quantiles interpolated inside the bucket", () => {
    const h = new LatencyHistogram();
    h.observe(3, 99); // bucket (2, 4]
    h.observe(100, 1); // bucket (64, 128]
    expect(h.total).toBe(100);
    const p50 = quantileOf(h.counts, 0.5)!;
    expect(p50).toBeGreaterThan(2);
    expect(p50).toBeLessThanOrEqual(4);
    expect(quantileOf(h.counts, 0.99)).toBeCloseTo(4);
    expect(quantileOf(h.counts, 1)).toBeCloseTo(128);
  });

  it("has no quantile when empty, and the last bound above every bound", () => {
    expect(quantileOf(new LatencyHistogram().counts, 0.99)).toBeUndefined();
    const h = new LatencyHistogram();
    h.observe(120_000);
    expect(quantileOf(h.counts, 0.99)).toBe(60_000);
  });
});
