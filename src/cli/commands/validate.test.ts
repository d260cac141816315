import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CommanderError } from "commander";
import { validateCommand, validatePaths, type ValidateReport } from "./validate";

const ROOT = path.resolve(__dirname, "../../..");
const testdata = (...p: string[]): string => path.join(ROOT, "src/config/testdata", ...p);

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `conveyor validate ...args` in-process, capturing output and the exit code. */
async function run(...args: string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const cmd = validateCommand()
    .exitOverride()
    .configureOutput({ writeOut: (s) => (stdout += s), writeErr: (s) => (stderr += s) });
  try {
    await cmd.parseAsync(["node", "x", ...args], { from: "node" });
    return { exitCode: 0, stdout, stderr };
  } catch (err) {
    if (err instanceof CommanderError) return { exitCode: err.exitCode, stdout, stderr };
    throw err;
  }
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-validate-"));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("conveyor validate", () => {
  it("prints OK per pipeline and a summary; exit 0", async () => {
    const r = await run(path.join(ROOT, "examples/pipelines"));
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    const demo = path.join(ROOT, "examples/pipelines/demo.yaml");
    expect(r.stdout).toContain(`OK: ${demo}: pipeline demo (3 stages)\n`);
    expect(r.stdout).toMatch(/^OK: .*user-sink\.yaml: pipeline orders-to-warehouse \(3 stages\)$/m);
    expect(r.stdout.endsWith("2 valid, 0 invalid\n")).toBe(true);
  });

  it("takes pipelines in the Kubernetes style beside flat ones; a bad envelope is reported at its path", async () => {
    const dir = testdata("resource");
    const r = await run(dir);
    expect(r).toEqual({
      exitCode: 0,
      stdout:
        `OK: ${path.join(dir, "flat.yaml")}: pipeline audit (2 stages)\n` +
        `OK: ${path.join(dir, "payments.yaml")}: pipeline payments (3 stages)\n2 valid, 0 invalid\n`,
      stderr: "",
    });
    const bad = path.join(tmp, "bad.yaml");
    fs.writeFileSync(
      bad,
      fs.readFileSync(path.join(dir, "payments.yaml"), "utf8").replace("kind: Pipeline", "kind: Pipelines"),
    );
    const b = await run(bad);
    expect(b.exitCode).toBe(1);
    expect(b.stderr).toContain('/kind: must be "Pipeline"');
  });

  it("a single file", async () => {
    const file = testdata("good", "user-stages.yaml");
    const r = await run(file);
    expect(r).toEqual({
      exitCode: 0,
      stdout: `OK: ${file}: pipeline orders-enrich (4 stages)\n1 valid, 0 invalid\n`,
      stderr: "",
    });
  });

  it("prints every problem of every invalid file to stderr; exit 1", async () => {
    const good = testdata("good", "file-sink.yaml");
    const many = testdata("bad", "many-problems.yaml");
    const unknown = testdata("bad", "unknown-builtin.yaml");
    const r = await run(good, many, unknown);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe(`OK: ${good}: pipeline clicks-to-files (2 stages)\n1 valid, 2 invalid\n`);
    expect(r.stderr).toContain(`INVALID: ${many}\n`);
    for (const problem of [
      '  - /: missing required field "sink"\n',
      '  - /: unknown field "colour"\n',
      '  - /source: unknown field "shape"\n',
      '  - /steps/0: a stage needs exactly one of "stage" or "builtin"\n',
      "  - /dlq/maxRetries: must be >= 0\n",
    ]) {
      expect(r.stderr).toContain(problem);
    }
    expect(r.stderr).toContain(
      `INVALID: ${unknown}\n  - /sink: unknown builtin "nope" (known: file, sse, sling, mirror)\n`,
    );
  });

  it("a directory of bad files reports each of them", async () => {
    const r = await run(testdata("bad"));
    expect(r.exitCode).toBe(1);
    const count = fs.readdirSync(testdata("bad")).length;
    expect(r.stdout).toBe(`0 valid, ${count} invalid\n`);
    expect(r.stderr.match(/^INVALID: /gm)).toHaveLength(count);
  });

  it("a path that does not exist is a clear error; the other paths are still checked", async () => {
    const missing = path.join(tmp, "nope.yaml");
    const good = testdata("good", "json-form.json");
    const r = await run(missing, good);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`INVALID: ${missing}\n  - no such file or directory\n`);
    expect(r.stdout).toContain(`OK: ${good}: pipeline json-form (3 stages)\n`);
    expect(r.stdout).toContain("1 valid, 1 invalid\n");
  });

  it("a file that is not YAML at all", async () => {
    const file = path.join(tmp, "garbage.yaml");
    fs.writeFileSync(file, "name: [unclosed\n  : : :\n");
    const r = await run(file);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`INVALID: ${file}\n  - not valid YAML/JSON: `);
  });

  it("an empty directory is an error", async () => {
    const r = await run(tmp);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("directory has no pipeline files");
  });

  it("pipeline names must be unique across all the paths given", async () => {
    const a = path.join(tmp, "a.yaml");
    fs.copyFileSync(testdata("good", "user-stages.yaml"), a);
    const original = testdata("good", "user-stages.yaml");
    const r = await run(original, a);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `INVALID: ${a}\n  - pipeline name "orders-enrich" is already used by ${original}\n`,
    );
    // The same file named twice is checked once.
    expect((await run(original, original)).stdout).toContain("1 valid, 0 invalid");
  });

  it("duplicate names inside a directory: the first file in name order keeps the name", async () => {
    const r = await run(testdata("duplicate-names"));
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("2 valid, 1 invalid\n");
    expect(r.stderr).toContain(`INVALID: ${testdata("duplicate-names", "2-orders-again.yaml")}\n`);
  });

  it("--json prints {valid, invalid} on stdout only", async () => {
    const good = testdata("good", "with-dlq.yaml");
    const bad = testdata("bad", "missing-sink.yaml");
    const r = await run("--json", good, bad);
    expect(r.exitCode).toBe(1);
    const report = JSON.parse(r.stdout) as ValidateReport;
    expect(report).toEqual({
      valid: [{ source: good, name: "payments", stages: 3 }],
      invalid: [{ source: bad, problems: ['/: missing required field "sink"'] }],
    });
    expect(r.stderr).not.toContain("INVALID:");
  });

  it("uses the environment for ${VAR}", () => {
    const file = testdata("good", "env.yaml");
    expect(validatePaths([file], {}).invalid[0].problems).toEqual(
      expect.arrayContaining([
        "/name: environment variable PIPELINE_SUFFIX is not set and has no default (use ${PIPELINE_SUFFIX:-default})",
        expect.stringContaining("/source/stage: environment variable SOURCE_STAGE is not set"),
      ]),
    );
    expect(validatePaths([file], { PIPELINE_SUFFIX: "a", SOURCE_STAGE: "s" }).valid).toEqual([
      { source: file, name: "env-a", stages: 2 },
    ]);
  });

  it("needs at least one path, and --help describes it", async () => {
    const none = await run();
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toContain("missing required argument");
    const help = await run("--help");
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("check pipeline files (YAML or JSON) without running them");
    expect(help.stdout).toContain("--json");
    expect(help.stdout).toContain("Exit status:");
  });
});

describe("conveyor validate output order", () => {
  it("reports problems in the order of the arguments", async () => {
    const many = testdata("bad", "many-problems.yaml");
    const missing = path.join(os.tmpdir(), "conveyor-validate-missing.yaml");
    const r = await run(many, missing);
    expect(r.stderr.indexOf(`INVALID: ${many}`)).toBeLessThan(r.stderr.indexOf(`INVALID: ${missing}`));
  });
});
