import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConveyorError } from "../../errors";
import { listPipelines } from "./pipelines";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sling-pipelines-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function touch(name: string): void {
  fs.writeFileSync(path.join(dir, name), "source: A\ntarget: B\nstreams: { t: {} }\n");
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConveyorError);
    return (err as ConveyorError).message;
  }
  throw new Error("expected an error");
}

describe("listPipelines", () => {
  it("runs *.yaml and *.yml files in name order and ignores the rest", () => {
    for (const f of ["20-b.yml", "10-a.yaml", "README.md", ".hidden.yaml", "30-c.YAML", "notes.txt"])
      touch(f);
    fs.mkdirSync(path.join(dir, "sub.yaml"));
    expect(listPipelines({ kind: "dir", dir, defaulted: false })).toEqual([
      { name: "10-a", file: path.join(dir, "10-a.yaml") },
      { name: "20-b", file: path.join(dir, "20-b.yml") },
      { name: "30-c", file: path.join(dir, "30-c.YAML") },
    ]);
  });

  it("refuses an empty directory", () => {
    touch("README.md");
    expect(messageOf(() => listPipelines({ kind: "dir", dir, defaulted: false }))).toBe(
      `PIPELINE_DIR: ${dir} has no Sling replication files (*.yaml, *.yml)`,
    );
  });

  it("says that neither SLING_CONFIG nor PIPELINE_DIR was set when the default directory is missing", () => {
    expect(
      messageOf(() => listPipelines({ kind: "dir", dir: path.join(dir, "nope"), defaulted: true })),
    ).toMatch(
      /^no pipelines: set SLING_CONFIG \(one replication file\) or PIPELINE_DIR; the default .*nope does not exist$/,
    );
    expect(
      messageOf(() => listPipelines({ kind: "dir", dir: path.join(dir, "nope"), defaulted: false })),
    ).toMatch(/^PIPELINE_DIR: .*nope does not exist$/);
  });

  it("refuses two files that are one pipeline", () => {
    touch("a.yaml");
    touch("a.yml");
    expect(messageOf(() => listPipelines({ kind: "dir", dir, defaulted: false }))).toMatch(
      /a.yaml and a.yml in .* are both pipeline "a": rename one/,
    );
  });

  it("takes SLING_CONFIG's file, which must exist and be a file", () => {
    touch("one.yaml");
    expect(listPipelines({ kind: "file", file: path.join(dir, "one.yaml") })).toEqual([
      { name: "one", file: path.join(dir, "one.yaml") },
    ]);
    expect(messageOf(() => listPipelines({ kind: "file", file: path.join(dir, "x.yaml") }))).toMatch(
      /does not exist/,
    );
    expect(messageOf(() => listPipelines({ kind: "file", file: dir }))).toMatch(
      /is not a file \(use PIPELINE_DIR/,
    );
  });
});
