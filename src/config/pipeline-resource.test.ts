import * as path from "node:path";
import { ConveyorError } from "../errors";
import { loadPipelineFile, loadPipelines, parsePipeline } from "./pipeline";

const testdata = (...p: string[]): string => path.join(__dirname, "testdata", ...p);

function problemsOf(text: string): string[] {
  try {
    parsePipeline(text, "p.yaml", {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConveyorError);
    return (err as ConveyorError).details.problems as string[];
  }
  throw new Error("expected the pipeline to be rejected");
}

const resource = (
  spec: string,
  metadata = "{ name: p }",
  head = "apiVersion: conveyor.dev/v1\nkind: Pipeline",
): string => `${head}\nmetadata: ${metadata}\nspec: ${spec}\n`;

describe("pipelines in the Kubernetes style", () => {
  it("a resource gives the same pipeline as its flat form", () => {
    expect(loadPipelineFile(testdata("resource", "payments.yaml"), {})).toEqual(
      loadPipelineFile(testdata("good", "with-dlq.yaml"), {}),
    );
  });

  it("a directory may mix both shapes", () => {
    const { pipelines, errors } = loadPipelines(testdata("resource"), {});
    expect(errors).toEqual([]);
    expect(pipelines.map((p) => p.name)).toEqual(["audit", "payments"]);
  });

  it("refuses a wrong envelope, naming each path", () => {
    expect(
      problemsOf(
        resource(
          "{ source: { stage: a }, sink: { stage: b } }",
          "{ name: p, uid: x, labels: { a: 1 } }",
          "apiVersion: conveyor.dev/v2\nkind: Pipe\nstatus: {}",
        ),
      ),
    ).toEqual([
      '/: unknown field "status" (a Pipeline has apiVersion, kind, metadata, spec)',
      '/apiVersion: must be "conveyor.dev/v1"',
      '/kind: must be "Pipeline"',
      '/metadata: unknown field "uid"',
      "/metadata/labels: must map names to strings",
    ]);
    expect(problemsOf("kind: Pipeline\nspec: { source: { stage: a }, sink: { stage: b } }")).toEqual([
      '/apiVersion: must be "conveyor.dev/v1" (missing)',
      '/metadata: missing required field "metadata"',
      '/metadata: missing required field "name"',
    ]);
  });

  it("checks the spec with the pipeline schema and checks, at the resource's paths", () => {
    expect(
      problemsOf(
        resource(
          "{ name: q, source: { stage: a, extra: 1 }, sink: { builtin: nope } }",
          "{ name: Bad_Name }",
        ),
      ),
    ).toEqual(
      expect.arrayContaining([
        '/spec: unknown field "name" (the name is metadata.name)',
        '/metadata/name: must match pattern "^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$"',
        '/spec/source: unknown field "extra"',
      ]),
    );
    expect(problemsOf(resource("{ source: { stage: a } }"))).toEqual([
      '/spec: missing required field "sink"',
    ]);
    expect(problemsOf(resource("{ source: { stage: a }, sink: { builtin: nope } }"))).toEqual([
      expect.stringMatching(/^\/spec\/sink: unknown builtin "nope"/),
    ]);
  });

  it("interpolates ${VAR} in a resource like in a flat file", () => {
    const text = resource(
      "{ source: { stage: a }, sink: { builtin: file, config: { dir: '${OUT:-/tmp/x}' } } }",
    );
    expect(parsePipeline(text, "p", {}).sink.config).toEqual({ dir: "/tmp/x" });
  });
});
