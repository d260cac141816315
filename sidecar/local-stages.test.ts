import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConveyorError } from "../src/errors";
import { createLogger } from "../src/telemetry/log";
import { ClientPool } from "./client-pool";
import { LocalStages } from "./local-stages";
import type { StageInstance, StageRoute } from "./routing-table";

const log = createLogger("test");
const instance: StageInstance = {
  sidecarId: "sc-1",
  peerAddress: "127.0.0.1:1",
  serviceEndpoint: "",
  serviceName: "",
  partitions: [],
  generation: 1,
};

function route(
  kind: StageRoute["kind"],
  builtin: string,
  builtinConfig: { [key: string]: unknown },
): StageRoute {
  return {
    pipeline: "orders",
    index: 0,
    name: "out",
    kind,
    builtin,
    builtinConfig,
    deadLetter: false,
    instances: [instance],
  };
}

function thrown(fn: () => unknown): ConveyorError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConveyorError) return err;
    throw err;
  }
  throw new Error("did not throw");
}

describe("LocalStages with built-ins", () => {
  let pool: ClientPool;
  let dir: string;
  let stages: LocalStages;

  beforeEach(() => {
    pool = new ClientPool({ idleMs: 60_000, batchTimeoutMs: 5000, peerTimeoutMs: 5000, log });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-stages-"));
    stages = new LocalStages(pool, "sc-1", dir);
  });

  afterEach(() => {
    stages.close();
    pool.close();
  });

  it("an unknown built-in, or one asked for a kind it cannot be, is UNKNOWN_BUILTIN", () => {
    const unknown = thrown(() => stages.sink(route("sink", "nope", {}), instance));
    expect(unknown.code).toBe("UNKNOWN_BUILTIN");
    expect(unknown.message).toContain('built-in "nope" as a sink (known: file, sse, sling, mirror)');
    expect(thrown(() => stages.openSource(route("source", "file", { dir }), log)).code).toBe(
      "UNKNOWN_BUILTIN",
    );
    expect(thrown(() => stages.transform(route("transform", "sling", {}), instance)).code).toBe(
      "UNKNOWN_BUILTIN",
    );
  });

  it("a config failing the built-in's schema is CONFIG_INVALID naming the field, and nothing is created", () => {
    const err = thrown(() => stages.sink(route("sink", "file", { dir, colour: "red" }), instance));
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).toContain('unknown field "colour"');
    expect(err.details).toMatchObject({ pipeline: "orders", stage: "out" });
    const source = thrown(() => stages.openSource(route("source", "sse", { url: "not a url" }), log));
    expect(source.code).toBe("CONFIG_INVALID");
    expect(source.details.problems).toEqual(['/url: must match pattern "^https?://[^\\s]+$"']);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("creates a built-in sink once per pipeline and stage, and closes it when the stage leaves", async () => {
    const stage = route("sink", "file", { dir, fsync: false });
    const sink = stages.sink(stage, instance);
    expect(stages.sink(stage, instance)).toBe(sink);
    await sink.write([
      { id: "a", key: Buffer.alloc(0), value: Buffer.from("x"), headers: {}, eventTimeMs: 0 },
    ]);
    expect(fs.readdirSync(dir)).toEqual(["orders-sc-1.ndjson"]);
    stages.retain([]);
    expect(stages.sink(stage, instance)).not.toBe(sink);
  });
});
