import { ConveyorError } from "../../errors";
import { checkSlingSourceConfig } from "./source-config";

function problems(config: unknown): string[] {
  try {
    checkSlingSourceConfig(config);
  } catch (err) {
    expect(err).toBeInstanceOf(ConveyorError);
    expect((err as ConveyorError).code).toBe("CONFIG_INVALID");
    return (err as ConveyorError).details.problems as string[];
  }
  throw new Error("expected the config to be rejected");
}

describe("SlingSourceConfig", () => {
  it("accepts the required fields alone and every optional one", () => {
    expect(
      checkSlingSourceConfig({ connection: "MISSION_DB", stream: "main.telemetry", updateKey: "id" }),
    ).toEqual({ connection: "MISSION_DB", stream: "main.telemetry", updateKey: "id" });
    const full = {
      connection: "sqlite:///data/m.db",
      stream: "select * from telemetry where sensor = 'temp'",
      updateKey: "updated_at",
      primaryKey: ["sensor", "id"],
      batchSize: 200,
      pollIntervalMs: 1000,
      maxRowsPerRun: 5000,
      timeout: "2m",
      stateDir: "/var/lib/conveyor",
      slingBin: "/opt/sling/sling",
    };
    expect(checkSlingSourceConfig(full)).toEqual(full);
  });

  it("coerces numbers interpolated from env (${VAR:-100} is a string) without touching the input", () => {
    const input = { connection: "M", stream: "t", updateKey: "id", batchSize: "100" };
    expect(checkSlingSourceConfig(input).batchSize).toBe(100);
    expect(input.batchSize).toBe("100");
  });

  it("rejects unknown fields and missing required ones, all at once", () => {
    expect(problems({ connection: "M", colour: "red" })).toEqual([
      'sling source config /: missing required field "stream"',
      'sling source config /: missing required field "updateKey"',
      'sling source config /: unknown field "colour"',
    ]);
  });

  it("the update key must be a plain identifier: it is written into SQL", () => {
    expect(problems({ connection: "M", stream: "t", updateKey: "id; drop table t" })).toEqual([
      expect.stringMatching(/^sling source config \/updateKey: must match pattern/),
    ]);
  });

  it("bounds and formats", () => {
    expect(
      problems({
        connection: "",
        stream: "t",
        updateKey: "id",
        primaryKey: [],
        batchSize: 0,
        pollIntervalMs: 1,
        timeout: "30",
      }).map((p) => p.split(":")[0]),
    ).toEqual([
      "sling source config /connection",
      "sling source config /primaryKey",
      "sling source config /batchSize",
      "sling source config /pollIntervalMs",
      "sling source config /timeout",
    ]);
  });
});
