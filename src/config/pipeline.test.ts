import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import YAML from "yaml";
import pipelineSchema from "../../schemas/pipeline.schema.json";
import { ConveyorError } from "../errors";
import { AJV_OPTIONS } from "./config-file";
import {
  DEFAULT_SETTINGS,
  loadPipelineFile,
  loadPipelines,
  parsePipeline,
  pipelineFilesIn,
  pipelineSettings,
  pipelineStages,
  type PipelineSpec,
} from "./pipeline";

const ROOT = path.resolve(__dirname, "../..");
const testdata = (...p: string[]): string => path.join(__dirname, "testdata", ...p);

/** An environment with nothing set, so tests never depend on the caller's. */
const EMPTY_ENV: NodeJS.ProcessEnv = {};

/** The problems of a file that must fail, as the loader reports them. */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConveyorError);
    const e = err as ConveyorError;
    expect(e.code).toBe("CONFIG_INVALID");
    const problems = e.details.problems;
    return Array.isArray(problems) ? (problems as string[]) : [e.message];
  }
  throw new Error("expected the pipeline to be rejected");
}

const badFile = (name: string, env = EMPTY_ENV): string[] =>
  problemsOf(() => loadPipelineFile(testdata("bad", name), env));

describe("good pipelines", () => {
  it("user stages only: source, steps and sink by Describe() name", () => {
    const spec = loadPipelineFile(testdata("good", "user-stages.yaml"), EMPTY_ENV);
    expect(spec.name).toBe("orders-enrich");
    expect(pipelineStages(spec)).toEqual([
      { index: 0, name: "orders", kind: "source" },
      { index: 1, name: "enrich", kind: "transform" },
      { index: 2, name: "redact", kind: "transform" },
      { index: 3, name: "warehouse", kind: "sink" },
    ]);
    expect(pipelineSettings(spec)).toEqual(DEFAULT_SETTINGS);
  });

  it("built-in file sink keeps its config", () => {
    const spec = loadPipelineFile(testdata("good", "file-sink.yaml"), EMPTY_ENV);
    expect(pipelineStages(spec)[1]).toEqual({
      index: 1,
      name: "file",
      kind: "sink",
      builtin: "file",
      config: { dir: "/data/out", fsync: false },
    });
  });

  it("dlq and settings", () => {
    const spec = loadPipelineFile(testdata("good", "with-dlq.yaml"), EMPTY_ENV);
    expect(spec.dlq).toEqual({
      sink: { builtin: "file", name: "payments-dlq", config: { dir: "/data/dlq" } },
      maxRetries: 5,
      backoffMs: 100,
      maxBackoffMs: 30000,
    });
    expect(pipelineSettings(spec)).toEqual({
      ...DEFAULT_SETTINGS,
      batchSize: 500,
      stageTimeoutMs: 5000,
      retry: { maxRetries: 5, backoffMs: 100, maxBackoffMs: 30000 },
    });
    expect(pipelineStages(spec).at(-1)).toEqual({
      index: 3,
      name: "payments-dlq",
      kind: "sink",
      builtin: "file",
      config: { dir: "/data/dlq" },
      deadLetter: true,
    });
  });

  it("JSON form", () => {
    const spec = loadPipelineFile(testdata("good", "json-form.json"), EMPTY_ENV);
    expect(pipelineStages(spec).map((s) => s.name)).toEqual(["gen", "enrich", "file"]);
  });

  it("${VAR} set and ${VAR:-default} unset (numbers are coerced by the schema)", () => {
    const spec = loadPipelineFile(testdata("good", "env.yaml"), {
      PIPELINE_SUFFIX: "a1",
      SOURCE_STAGE: "orders",
    });
    expect(spec.name).toBe("env-a1");
    expect(spec.source).toEqual({ stage: "orders" });
    expect(spec.sink.config).toEqual({ dir: "/var/lib/conveyor/out" });
    expect(spec.settings?.batchSize).toBe(250);
  });

  it("${VAR:-default} takes the variable when set, and the default when it is empty", () => {
    const env = { PIPELINE_SUFFIX: "b", SOURCE_STAGE: "s", OUT_DIR: "/mnt/out", BATCH_SIZE: "7" };
    const spec = loadPipelineFile(testdata("good", "env.yaml"), env);
    expect(spec.sink.config).toEqual({ dir: "/mnt/out" });
    expect(spec.settings?.batchSize).toBe(7);
    const empty = loadPipelineFile(testdata("good", "env.yaml"), { ...env, OUT_DIR: "" });
    expect(empty.sink.config).toEqual({ dir: "/var/lib/conveyor/out" });
  });

  it("the whole good/ directory loads without errors", () => {
    const env = { PIPELINE_SUFFIX: "x", SOURCE_STAGE: "s" };
    const { pipelines, errors } = loadPipelines(testdata("good"), env);
    expect(errors).toEqual([]);
    expect(pipelines.map((p) => p.name)).toEqual([
      "env-x",
      "clicks-to-files",
      "json-form",
      "orders-enrich",
      "payments",
    ]);
  });
});

describe("bad pipelines: every problem, in words", () => {
  it("unknown top-level field", () => {
    expect(badFile("unknown-top-level-field.yaml")).toEqual(['/: unknown field "colour"']);
  });

  it("unknown field inside a stage", () => {
    expect(badFile("unknown-stage-field.yaml")).toEqual(['/steps/0: unknown field "colour"']);
  });

  it("missing sink", () => {
    expect(badFile("missing-sink.yaml")).toEqual(['/: missing required field "sink"']);
  });

  it("a stage with both stage and builtin", () => {
    expect(badFile("stage-and-builtin.yaml")).toEqual([
      '/sink: a stage needs exactly one of "stage" or "builtin"',
    ]);
  });

  it("unknown builtin", () => {
    expect(badFile("unknown-builtin.yaml")).toEqual([
      '/sink: unknown builtin "nope" (known: file, sse, sling, mirror)',
    ]);
  });

  it("builtin in the wrong position (file as a source)", () => {
    expect(badFile("builtin-wrong-position.yaml")).toEqual([
      '/source: builtin "file" is a sink, but this position needs a source',
    ]);
  });

  it("builtin config with an unknown field", () => {
    expect(badFile("builtin-config-unknown-field.yaml")).toEqual(['/sink/config: unknown field "colour"']);
  });

  it("builtin config without dir", () => {
    expect(badFile("builtin-config-missing-dir.yaml")).toEqual([
      '/sink/config: missing required field "dir"',
    ]);
  });

  it("duplicate stage names", () => {
    expect(badFile("duplicate-stage-names.yaml")).toEqual([
      expect.stringContaining('/steps/1: stage "enrich" appears twice'),
    ]);
  });

  it("${VAR} unset without a default", () => {
    const problems = badFile("env-unset.yaml");
    expect(problems).toContain(
      "/sink/config/dir: environment variable CONVEYOR_TEST_UNSET_DIR is not set and has no default " +
        "(use ${CONVEYOR_TEST_UNSET_DIR:-default})",
    );
    // The same file is fine once the variable is set.
    const spec = loadPipelineFile(testdata("bad", "env-unset.yaml"), { CONVEYOR_TEST_UNSET_DIR: "/out" });
    expect(spec.sink.config).toEqual({ dir: "/out" });
  });

  it("not YAML at all", () => {
    const problems = problemsOf(() => parsePipeline("name: [unclosed\n  : : :", "broken.yaml", EMPTY_ENV));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^broken\.yaml: not valid YAML\/JSON: /);
  });

  it("duplicate keys are a YAML error, not last-one-wins", () => {
    const [problem] = problemsOf(() => parsePipeline("name: a\nname: b\n", "dup.yaml", EMPTY_ENV));
    expect(problem).toContain("Map keys must be unique");
  });

  it("a YAML list instead of a mapping", () => {
    expect(badFile("list.yaml")).toEqual([
      `${testdata("bad", "list.yaml")}: a pipeline must be a mapping with name, source and sink`,
    ]);
  });

  it("an empty file", () => {
    expect(problemsOf(() => parsePipeline("", "empty.yaml", EMPTY_ENV))).toEqual([
      "empty.yaml: a pipeline must be a mapping with name, source and sink",
    ]);
  });

  it("bad name pattern", () => {
    expect(badFile("bad-name.yaml")).toEqual([expect.stringMatching(/^\/name: must match pattern "/)]);
  });

  it("a bad file yields all its problems at once", () => {
    const problems = badFile("many-problems.yaml");
    const expected = [
      '/: missing required field "sink"',
      '/: unknown field "colour"',
      expect.stringMatching(/^\/name: must match pattern/),
      '/source: unknown field "shape"',
      '/steps/0: a stage needs exactly one of "stage" or "builtin"',
      "/dlq/maxRetries: must be >= 0",
    ];
    expect(problems).toEqual(expect.arrayContaining(expected));
    expect(problems).toHaveLength(expected.length);
  });

  it("the error message lists every problem under the file name", () => {
    const file = testdata("bad", "many-problems.yaml");
    expect(() => loadPipelineFile(file, EMPTY_ENV)).toThrow(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: invalid pipeline:\\n  - `),
    );
  });

  it("every file in bad/ is rejected, and the directory load reports each", () => {
    const files = pipelineFilesIn(testdata("bad"));
    expect(files.length).toBeGreaterThanOrEqual(12);
    const { pipelines, errors } = loadPipelines(testdata("bad"), EMPTY_ENV);
    expect(pipelines).toEqual([]);
    expect(errors.map((e) => e.details.source)).toEqual(files);
  });
});

describe("a built-in in several positions (sling: source and sink)", () => {
  const slingToSling = (source: string, extra = ""): string =>
    [
      "name: mission-to-command",
      "source:",
      "  builtin: sling",
      "  name: mission",
      `  config: ${source}`,
      extra,
      "sink:",
      "  builtin: sling",
      "  config: { target: COMMAND, object: public.telemetry, primaryKey: [id] }",
    ].join("\n");

  it("is accepted as a source and as a sink of one pipeline, each with its own config schema", () => {
    const spec = parsePipeline(
      slingToSling("{ connection: MISSION_DB, stream: main.telemetry, updateKey: id, pollIntervalMs: 1000 }"),
      "p.yaml",
      EMPTY_ENV,
    );
    expect(pipelineStages(spec).map((s) => [s.name, s.kind, s.builtin])).toEqual([
      ["mission", "source", "sling"],
      ["sling", "sink", "sling"],
    ]);
    expect(spec.source.config).toEqual({
      connection: "MISSION_DB",
      stream: "main.telemetry",
      updateKey: "id",
      pollIntervalMs: 1000,
    });
  });

  it("checks the source position against the source schema (a sink field is unknown there)", () => {
    expect(
      problemsOf(() =>
        parsePipeline(slingToSling("{ connection: M, stream: t, updateKey: id, target: X }"), "p", EMPTY_ENV),
      ),
    ).toEqual(['/source/config: unknown field "target"']);
    expect(
      problemsOf(() => parsePipeline(slingToSling("{ connection: M, stream: t }"), "p", EMPTY_ENV)),
    ).toEqual(['/source/config: missing required field "updateKey"']);
  });

  it("names every kind it can be when the position needs another", () => {
    const text = slingToSling(
      "{ connection: M, stream: t, updateKey: id }",
      "steps:\n  - builtin: sling\n    name: middle\n    config: {}",
    );
    expect(problemsOf(() => parsePipeline(text, "p", EMPTY_ENV))).toEqual([
      '/steps/0: builtin "sling" is a source or sink, but this position needs a transform',
    ]);
  });
});

describe("directory loading", () => {
  it("loads *.yaml, *.yml and *.json in name order and ignores other files", () => {
    expect(pipelineFilesIn(testdata("ordered")).map((f) => path.basename(f))).toEqual([
      "a-first.json",
      "b-second.yaml",
      "c-third.yml",
    ]);
    const { pipelines, errors } = loadPipelines(testdata("ordered"), EMPTY_ENV);
    expect(errors).toEqual([]);
    expect(pipelines.map((p) => p.name)).toEqual(["first", "second", "third"]);
  });

  it("rejects a pipeline name used by an earlier file, keeps the others", () => {
    const { pipelines, errors } = loadPipelines(testdata("duplicate-names"), EMPTY_ENV);
    expect(pipelines.map((p) => p.name)).toEqual(["orders", "other"]);
    expect(errors).toHaveLength(1);
    expect(errors[0].code).toBe("CONFIG_INVALID");
    expect(errors[0].message).toBe(
      `${testdata("duplicate-names", "2-orders-again.yaml")}: pipeline name "orders" is already used by ` +
        testdata("duplicate-names", "1-orders.yaml"),
    );
  });

  it("a missing path throws ENOENT", () => {
    expect(() => loadPipelines(testdata("does-not-exist"))).toThrow(/ENOENT/);
  });
});

describe("committed JSON Schema (golden)", () => {
  it("is a valid draft-07 schema that ajv compiles in strict mode", () => {
    expect(pipelineSchema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    const ajv = new Ajv(AJV_OPTIONS);
    expect(ajv.validateSchema(pipelineSchema)).toBe(true);
    expect(() => ajv.compile(pipelineSchema)).not.toThrow();
  });

  it("top-level properties are exactly the PipelineSpec fields", () => {
    // Keyed by PipelineSpec: adding a field to the type without the schema (or back) fails to compile.
    const fields: { [K in keyof Required<PipelineSpec>]: true } = {
      name: true,
      description: true,
      source: true,
      steps: true,
      sink: true,
      dlq: true,
      settings: true,
    };
    expect(Object.keys(pipelineSchema.properties).sort()).toEqual(Object.keys(fields).sort());
    expect(Object.keys(fields)).toEqual([
      "name",
      "description",
      "source",
      "steps",
      "sink",
      "dlq",
      "settings",
    ]);
  });

  it("settings in the schema are exactly DEFAULT_SETTINGS' keys", () => {
    expect(Object.keys(pipelineSchema.properties.settings.properties).sort()).toEqual(
      Object.keys(DEFAULT_SETTINGS)
        .filter((k) => k !== "retry")
        .sort(),
    );
  });

  it("the file on disk is the schema the loader imports", () => {
    const onDisk: unknown = JSON.parse(
      fs.readFileSync(path.join(ROOT, "schemas/pipeline.schema.json"), "utf8"),
    );
    expect(onDisk).toEqual(pipelineSchema);
  });
});

describe("shipped pipelines validate", () => {
  it.each(pipelineFilesIn(path.join(ROOT, "examples/pipelines")).map((f) => [path.relative(ROOT, f)]))(
    "%s",
    (file) => {
      expect(() => loadPipelineFile(path.join(ROOT, file), EMPTY_ENV)).not.toThrow();
    },
  );

  it("examples/pipelines has the demo and a user-sink example", () => {
    const { pipelines, errors } = loadPipelines(path.join(ROOT, "examples/pipelines"), EMPTY_ENV);
    expect(errors).toEqual([]);
    const demo = pipelines.find((p) => p.name === "demo");
    expect(demo && pipelineStages(demo).map((s) => `${s.kind}:${s.name}`)).toEqual([
      "source:gen",
      "transform:enrich",
      "sink:file",
    ]);
    expect(demo?.sink.config).toEqual({ dir: "./.demo/out" });
    expect(pipelines.some((p) => p.sink.stage !== undefined)).toBe(true);
  });

  it("pipelines embedded in k8s ConfigMaps validate", () => {
    const dir = path.join(ROOT, "k8s");
    const embedded: Array<[string, string]> = [];
    for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
      for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(dir, file), "utf8"))) {
        const obj = doc.toJS() as { kind?: string; data?: Record<string, string> } | null;
        if (obj?.kind !== "ConfigMap") continue;
        for (const [key, text] of Object.entries(obj.data ?? {})) {
          if (/\.(ya?ml|json)$/.test(key)) embedded.push([`${file}:${key}`, text]);
        }
      }
    }
    expect(embedded.length).toBeGreaterThan(0);
    for (const [source, text] of embedded) expect(() => parsePipeline(text, source, EMPTY_ENV)).not.toThrow();
  });
});
