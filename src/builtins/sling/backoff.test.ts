import { backoffDelayMs, MAX_BACKOFF_MS } from "./backoff";

describe("backoffDelayMs", () => {
  it("doubles from the base: 5s, 10s, 20s (SYNC_BACKOFF_BASE=5s, SYNC_MAX_RETRIES=3)", () => {
    expect([1, 2, 3].map((a) => backoffDelayMs(a, 5000))).toEqual([5000, 10_000, 20_000]);
  });

  it("is capped", () => {
    expect(backoffDelayMs(30, 5000)).toBe(MAX_BACKOFF_MS);
    expect(backoffDelayMs(3, 1000, 2500)).toBe(2500);
  });

  it("allows a zero base (no wait) and rejects attempt numbers below 1", () => {
    expect(backoffDelayMs(4, 0)).toBe(0);
    expect(() => backoffDelayMs(0, 5000)).toThrow(/attempt must be >= 1/);
  });
});
