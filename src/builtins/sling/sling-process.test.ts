import { replicationArgs, slingChildEnv } from "./sling-process";

describe("slingChildEnv", () => {
  it("keeps SLING_TIMEOUT (Sling reads it as minutes) and SLING_STATE out of Sling's env, and asks for JSON logs", () => {
    const env = slingChildEnv({
      SLING_TIMEOUT: "30m",
      SLING_STATE: "file://./sling_state.json",
      SLING_LOGGING: "TEXT",
      MISSION: "sqlite:///m.db",
      PATH: "/bin",
    });
    expect(env).toEqual({
      SLING_LOGGING: "JSON",
      SLING_DISABLE_TELEMETRY: "true",
      MISSION: "sqlite:///m.db",
      PATH: "/bin",
    });
  });

  it("leaves an explicit SLING_DISABLE_TELEMETRY alone", () => {
    expect(slingChildEnv({ SLING_DISABLE_TELEMETRY: "false" }).SLING_DISABLE_TELEMETRY).toBe("false");
  });
});

describe("replicationArgs", () => {
  it("runs a replication file, as a full refresh for backfill", () => {
    expect(replicationArgs("/p/a.yaml", false)).toEqual(["run", "-r", "/p/a.yaml"]);
    expect(replicationArgs("/p/a.yaml", true)).toEqual(["run", "-r", "/p/a.yaml", "-m", "full-refresh"]);
  });
});
