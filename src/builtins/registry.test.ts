import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConveyorError } from "../errors";
import { STAGE_KINDS } from "../stages/contract";
import { createLogger } from "../telemetry/log";
import type { BuiltinContext } from "./builtin";
import { BUILTINS, builtinKindOf, builtinKinds, builtinNames, findBuiltin } from "./registry";

const log = createLogger("test");

function ctx(stateDir: string): BuiltinContext {
  return { pipeline: "p", stage: "s", sidecarId: "sc-1", stateDir, log };
}

describe("built-in registry", () => {
  it("has one entry per name, each declaring its kinds with a schema and a create", () => {
    expect(builtinNames()).toEqual(["file", "sse", "sling", "mirror"]);
    expect(new Set(builtinNames()).size).toBe(BUILTINS.length);
    for (const builtin of BUILTINS) {
      const kinds = builtinKinds(builtin);
      expect(kinds.length).toBeGreaterThan(0);
      for (const kind of kinds) {
        const entry = builtinKindOf(builtin, kind);
        expect(entry?.kind).toBe(kind);
        expect(typeof entry?.create).toBe("function");
        expect(typeof entry?.check).toBe("function");
        expect(entry?.description.length).toBeGreaterThan(10);
        expect(entry?.schema).toMatchObject({ type: "object" });
      }
    }
    expect(builtinKinds(findBuiltin("sling")!)).toEqual(["source", "sink"]);
    expect(builtinKinds(findBuiltin("file")!)).toEqual(["sink"]);
    expect(STAGE_KINDS.filter((k) => findBuiltin("mirror")!.kinds[k])).toEqual(["source"]);
  });

  it("knows no built-in by another name", () => {
    expect(findBuiltin("nope")).toBeUndefined();
    expect(findBuiltin("toString")).toBeUndefined();
  });

  it("checks a config against the entry's schema, naming the field", () => {
    const file = builtinKindOf(findBuiltin("file")!, "sink")!;
    expect(file.check({ dir: "/out" })).toEqual([]);
    expect(file.check({ dir: "/out", fsync: "maybe" })).toEqual(["/fsync: must be boolean"]);
    expect(file.check({ dir: "/out", colour: "red" })).toEqual(['/: unknown field "colour"']);
    expect(file.check({})).toEqual(['/: missing required field "dir"']);
  });

  it("checks what a schema cannot (mirror: unique mirror names)", () => {
    const mirror = builtinKindOf(findBuiltin("mirror")!, "source")!;
    const m = { source: { "bootstrap-servers": "127.0.0.1:9092" }, topic: "t" };
    const config = {
      destination: { type: "filesystem", root: "/tmp/m" },
      mirrors: [
        { ...m, name: "a", partition: 0 },
        { ...m, name: "a", partition: 1 },
      ],
    };
    expect(mirror.check(config)).toEqual(['/mirrors/1/name: mirror name "a" is already used by /mirrors/0']);
  });

  it("refuses to create a stage from a config failing its schema: CONFIG_INVALID naming the field", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-"));
    const sse = builtinKindOf(findBuiltin("sse")!, "source")!;
    let thrown: unknown;
    try {
      sse.create({ url: "ftp://example", batchSize: 0 }, ctx(dir));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConveyorError);
    const err = thrown as ConveyorError;
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).toContain('pipeline "p" stage "s": invalid source config');
    expect(err.details.problems).toEqual([
      '/url: must match pattern "^https?://[^\\s]+$"',
      "/batchSize: must be >= 1",
    ]);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("creates a stage from a valid config", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-"));
    const file = builtinKindOf(findBuiltin("file")!, "sink")!;
    const sink = file.create({ dir, fsync: false }, ctx(dir));
    const results = await sink.write([
      { id: "r1", key: Buffer.from("k"), value: Buffer.from("v"), headers: {}, eventTimeMs: 1 },
    ]);
    expect(results).toEqual([{ id: "r1", error: null }]);
    sink.close();
    expect(fs.readdirSync(dir)).toEqual(["p-sc-1.ndjson"]);
  });

  it("loads no stage module nor heavy dependency until a built-in is created", () => {
    // a child process: jest's module registry is not Node's
    const root = path.resolve(__dirname, "../..");
    const script =
      "require('./src/config/pipeline'); require('./src/builtins/registry');" +
      "console.log(JSON.stringify(Object.keys(require.cache)))";
    const out = execFileSync(path.join(root, "node_modules/.bin/tsx"), ["-e", script], {
      cwd: root,
      encoding: "utf8",
    });
    const loaded = (JSON.parse(out) as string[]).map((f) => path.relative(root, f));
    expect(loaded).toContain(path.join("src", "builtins", "registry.ts"));
    const heavy = loaded.filter(
      (f) =>
        /node_modules\/(kafkajs|@aws-sdk|@opentelemetry\/(exporter|sdk)[^/]*|eventsource)\//.test(f) ||
        /^src\/builtins\/((file|relay|mirror)\/stage|sling\/(source|sink))\.ts$/.test(f),
    );
    expect(heavy).toEqual([]);
  });
});
