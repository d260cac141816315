import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findProjectRoot, PROJECT_ROOT } from "./project-root";

describe("findProjectRoot", () => {
  it("is the directory with package.json and proto/, from sources", () => {
    expect(fs.existsSync(path.join(PROJECT_ROOT, "package.json"))).toBe(true);
    expect(fs.existsSync(path.join(PROJECT_ROOT, "proto", "conveyor", "v1", "stages.proto"))).toBe(true);
  });

  it("walks up from a compiled file's directory past dist/", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "root-"));
    fs.writeFileSync(path.join(root, "package.json"), "{}");
    const compiled = path.join(root, "dist", "src", "cli");
    fs.mkdirSync(compiled, { recursive: true });
    expect(findProjectRoot(compiled)).toBe(root);
    fs.rmSync(root, { recursive: true });
  });

  it("names the start directory when no package.json is above it", () => {
    expect(() => findProjectRoot("/")).toThrow("no package.json above /");
  });
});
