import { formatDuration, parseDuration } from "./duration";

describe("parseDuration", () => {
  it.each([
    ["5s", 5000],
    ["30m", 1_800_000],
    ["1h30m", 5_400_000],
    ["250ms", 250],
    ["1.5s", 1500],
    ["2h3m4s5ms", 7_384_005],
    [" 10s ", 10_000],
    ["0", 0],
  ])("%s = %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it("rejects a bare number instead of guessing minutes or seconds", () => {
    expect(() => parseDuration("30")).toThrow(/"30" has no unit \(use e.g. 30s or 30m/);
  });

  it.each(["", "5", "5x", "m5", "5s junk", "-5s", "5 s", "1d"])("rejects %j", (text) => {
    expect(() => parseDuration(text)).toThrow();
  });
});

describe("formatDuration", () => {
  it.each([
    [250, "250ms"],
    [5000, "5s"],
    [90_000, "1m30s"],
    [5_400_000, "1h30m"],
  ])("%d ms = %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
