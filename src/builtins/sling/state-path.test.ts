import { parseStatePath, refuseToDelete } from "./state-path";

describe("parseStatePath", () => {
  it("keeps file://./x.json relative (a URL parser would make it /x.json)", () => {
    expect(parseStatePath("file://./sling_state.json")).toBe("./sling_state.json");
    expect(new URL("file://./sling_state.json").pathname).toBe("/sling_state.json"); // the trap avoided
  });

  it.each([
    ["file:///var/lib/sling/state.json", "/var/lib/sling/state.json"],
    ["file://state.json", "state.json"],
    ["file://../up/state.json", "../up/state.json"],
    ["file://localhost/var/state.json", "/var/state.json"],
    ["FILE://./a%20b.json", "./a b.json"],
    ["./plain.json", "./plain.json"],
    ["/abs/plain.json", "/abs/plain.json"],
  ])("%s → %s", (spec, file) => {
    expect(parseStatePath(spec)).toBe(file);
  });

  it("rejects other schemes and empty values", () => {
    expect(() => parseStatePath("s3://bucket/state.json")).toThrow(/only file:\/\/ state is supported/);
    expect(() => parseStatePath("file://")).toThrow(/names no file/);
    expect(() => parseStatePath("  ")).toThrow(/is empty/);
  });
});

describe("refuseToDelete", () => {
  const cwd = "/work/job";
  it.each(["/", ".", "..", "./", "/work", "/work/job", "/work/job/", "file-dir/", "../../"])(
    "refuses %j",
    (p) => {
      expect(refuseToDelete(p, cwd)).toBeDefined();
    },
  );

  it.each(["./sling_state.json", "state.json", "/var/lib/sling/state.json", "../other/state.json"])(
    "allows %j",
    (p) => {
      expect(refuseToDelete(p, cwd)).toBeUndefined();
    },
  );

  it("says why", () => {
    expect(refuseToDelete("/", cwd)).toMatch(/filesystem root/);
    expect(refuseToDelete(".", cwd)).toMatch(/working directory/);
  });
});
