import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cacheDir, grpcPython, toolPath } from "./tools";

describe("toolPath", () => {
  let cache: string;
  beforeEach(() => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-cache-"));
  });
  afterEach(() => {
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it("finds a tool under $CONVEYOR_CACHE/bin", () => {
    const bin = path.join(cache, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "grpcurl"), "#!/bin/sh\n", { mode: 0o755 });
    expect(toolPath("grpcurl", { CONVEYOR_CACHE: cache })).toBe(path.join(bin, "grpcurl"));
  });

  it("says to run scripts/setup.sh when the tool is missing", () => {
    expect(() => toolPath("grpcurl", { CONVEYOR_CACHE: cache })).toThrow(
      `grpcurl is not installed at ${path.join(cache, "bin", "grpcurl")}: run scripts/setup.sh`,
    );
  });

  it("defaults to ~/.cache/conveyor", () => {
    expect(cacheDir({})).toBe(path.join(os.homedir(), ".cache", "conveyor"));
    expect(cacheDir({ CONVEYOR_CACHE: "" })).toBe(path.join(os.homedir(), ".cache", "conveyor"));
  });
});

describe("grpcPython", () => {
  it("finds the grpcio venv's python under $CONVEYOR_CACHE, or says to run scripts/setup.sh", () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-cache-"));
    try {
      const python = path.join(cache, "py-grpc-venv", "bin", "python");
      expect(() => grpcPython({ CONVEYOR_CACHE: cache })).toThrow(
        `the grpcio venv is not installed at ${python}: run scripts/setup.sh`,
      );
      fs.mkdirSync(path.dirname(python), { recursive: true });
      fs.writeFileSync(python, "#!/bin/sh\n", { mode: 0o755 });
      expect(grpcPython({ CONVEYOR_CACHE: cache })).toBe(python);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});
