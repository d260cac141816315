import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileDurably } from "./durable-file";

describe("writeFileDurably", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "durable-file-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("replaces the file's content and leaves no temp file behind", async () => {
    const file = path.join(dir, "state.json");
    await writeFileDurably(file, "one\n");
    await Promise.all([writeFileDurably(file, "two\n"), writeFileDurably(file, "three\n")]);
    expect(["two\n", "three\n"]).toContain(fs.readFileSync(file, "utf8"));
    expect(fs.readdirSync(dir)).toEqual(["state.json"]);
  });

  it("fails when the directory does not exist, and writes nothing", async () => {
    await expect(writeFileDurably(path.join(dir, "missing", "x.json"), "x")).rejects.toMatchObject({
      code: "ENOENT",
    });
    expect(fs.readdirSync(dir)).toEqual(["state.json"]);
  });
});
