import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { StateStore } from "./state-store";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sling-state-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("StateStore", () => {
  it("starts empty, round-trips, and is cleared by backfill", () => {
    // Relative to the job's working directory, as SLING_STATE=file://./state/… means.
    const s = new StateStore("./state/sling_state.json", dir);
    expect(s.read("c1")).toEqual({ version: 1, missionClusterId: "c1", pipelines: {} });
    const state = s.read("c1");
    state.pipelines.a = {
      lastJobId: "j",
      lastStatus: "succeeded",
      lastRunAt: "t",
      lastAttempts: 1,
      lastRows: 3,
      totalRows: 3,
    };
    s.write(state);
    expect(s.read("c1")).toEqual(state);
    expect(fs.readdirSync(path.join(dir, "state"))).toEqual(["sling_state.json"]); // no temp file left
    expect(s.clear()).toBe(true);
    expect(fs.existsSync(path.join(dir, "state", "sling_state.json"))).toBe(false);
    expect(s.clear()).toBe(false);
  });

  it("refuses to delete / or . or a directory", () => {
    expect(() => new StateStore("/", dir).clear()).toThrow(
      /backfill refuses to delete it: "\/" is the filesystem root/,
    );
    expect(() => new StateStore(".", dir).clear()).toThrow(/working directory/);
    fs.mkdirSync(path.join(dir, "d"));
    expect(() => new StateStore(path.join(dir, "d"), dir).clear()).toThrow(/not a regular file/);
    expect(fs.existsSync(path.join(dir, "d"))).toBe(true);
  });

  it("names the file when it is corrupt", () => {
    const file = path.join(dir, "s.json");
    fs.writeFileSync(file, "{oops");
    expect(() => new StateStore(file, dir).read("c")).toThrow(`SLING_STATE ${file}: is corrupt`);
  });
});
