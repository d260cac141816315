import { slingCommand, slingFlagsFrom } from "./cli";

/** Parses argv as `conveyor sling …` would, without running the job; the leaf command's merged options. */
function parsed(argv: string[]): { [attribute: string]: unknown } {
  const sling = slingCommand();
  let seen: { [attribute: string]: unknown } = {};
  for (const sub of sling.commands) {
    sub.action(function (this: typeof sub) {
      seen = this.optsWithGlobals();
    });
    sub.exitOverride(); // throw instead of process.exit
    sub.configureOutput({ writeErr: () => undefined });
  }
  sling.exitOverride();
  sling.parse(argv, { from: "user" });
  return seen;
}

describe("conveyor sling flags", () => {
  it("takes the wrapper's flags before or after the subcommand", () => {
    const line = ["--mission-cluster-id", "m1", "--sling-binary", "/bin/sling", "--sling-timeout", "1m"];
    const after = slingFlagsFrom(parsed(["run", ...line, "--otel-endpoint", "c:4317"]));
    const before = slingFlagsFrom(parsed([...line, "--otel-endpoint", "c:4317", "run"]));
    const expected = { clusterId: "m1", slingBin: "/bin/sling", timeout: "1m", otlpEndpoint: "c:4317" };
    expect(after).toEqual({ flags: expected, problems: [] });
    expect(before).toEqual({ flags: expected, problems: [] });
  });

  it("keeps Conveyor's earlier names as aliases and refuses two values for one setting", () => {
    expect(
      slingFlagsFrom(parsed(["noop", "--cluster-id", "a", "--sling-bin", "s", "--timeout", "5s"])).flags,
    ).toEqual({
      clusterId: "a",
      slingBin: "s",
      timeout: "5s",
    });
    expect(
      slingFlagsFrom(parsed(["run", "--cluster-id", "a", "--mission-cluster-id", "b"])).problems,
    ).toEqual(['--mission-cluster-id "b" and --cluster-id "a" name one setting: give one']);
  });

  it("--mode belongs to run only", () => {
    expect(slingFlagsFrom(parsed(["run", "--mode", "backfill"])).flags).toEqual({ mode: "backfill" });
    expect(() => parsed(["noop", "--mode", "backfill"])).toThrow("unknown option '--mode'");
  });
});
