import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { segmentName } from "./chain";
import { FilesystemSegmentStore } from "./destination-filesystem";

describe("FilesystemSegmentStore", () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-mirror-dest-"));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const seg = (from: number, to: number) => ({
    from,
    to,
    name: segmentName(from, to, "ndjson"),
    format: "ndjson" as const,
  });

  it("writes <root>/<name>/<partition>/<segment> and lists it", async () => {
    const d = new FilesystemSegmentStore(root, "orders", 3);
    const file = await d.write(seg(0, 1), [Buffer.from("a\n"), Buffer.alloc(0), Buffer.from("b\n")]);
    expect(file).toBe(path.join(root, "orders", "3", segmentName(0, 1, "ndjson")));
    expect(fs.readFileSync(file, "utf8")).toBe("a\nb\n");
    expect(await d.list()).toEqual([segmentName(0, 1, "ndjson")]);
  });

  it("never overwrites: a taken name fails with EEXIST and keeps the first contents", async () => {
    const d = new FilesystemSegmentStore(root, "t", 0);
    await d.write(seg(0, 1), [Buffer.from("first\n")]);
    await expect(d.write(seg(0, 1), [Buffer.from("second\n")])).rejects.toMatchObject({ code: "EEXIST" });
    expect(fs.readFileSync(path.join(d.location, segmentName(0, 1, "ndjson")), "utf8")).toBe("first\n");
    expect(fs.readdirSync(d.location)).toEqual([segmentName(0, 1, "ndjson")]); // no temp file left
  });

  it("cleanup removes temp files an interrupted write left; list ignores them", async () => {
    const d = new FilesystemSegmentStore(root, "t", 0);
    fs.mkdirSync(d.location, { recursive: true });
    fs.writeFileSync(path.join(d.location, ".conveyor-tmp-abc-x.ndjson"), "half");
    expect(await d.list()).toEqual([]);
    await d.cleanup();
    expect(fs.readdirSync(d.location)).toEqual([]);
  });

  it("lists nothing when the directory does not exist yet", async () => {
    expect(await new FilesystemSegmentStore(root, "none", 0).list()).toEqual([]);
  });
});
