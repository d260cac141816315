import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConveyorError } from "../../errors";
import { SlingSourceStateStore, slingSourceStateFile } from "./source-state";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sling-source-state-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("SlingSourceStateStore", () => {
  it("one file per connection, stream and update key", () => {
    const a = slingSourceStateFile(dir, { connection: "M", stream: "t", updateKey: "id" });
    expect(path.dirname(a)).toBe(dir);
    expect(path.basename(a)).toMatch(/^sling-source-[0-9a-f]{16}\.state\.json$/);
    expect(slingSourceStateFile(dir, { connection: "M", stream: " t\n", updateKey: "id" })).toBe(a);
    expect(slingSourceStateFile(dir, { connection: "M", stream: "t", updateKey: "ts" })).not.toBe(a);
    expect(slingSourceStateFile(dir, { connection: "N", stream: "t", updateKey: "id" })).not.toBe(a);
  });

  it("saves atomically and loads the cursor back; nothing saved is undefined", async () => {
    const store = new SlingSourceStateStore(path.join(dir, "s.state.json"));
    expect(await store.load()).toBeUndefined();
    await store.save("ts", '"2025-01-01T00:00:00Z"');
    await store.save("ts", '"2025-01-02T00:00:00Z"');
    expect(await store.load()).toBe('"2025-01-02T00:00:00Z"');
    expect(fs.readdirSync(dir)).toEqual(["s.state.json"]); // no temp file left behind
  });

  it("a corrupt file is CONFIG_INVALID naming the file, never a silent restart from the beginning", async () => {
    const file = path.join(dir, "s.state.json");
    const store = new SlingSourceStateStore(file);
    for (const text of [
      "{",
      '{"version":1}',
      '{"version":1,"cursor":"not json"}',
      '{"version":2,"cursor":"1"}',
    ]) {
      fs.writeFileSync(file, text);
      const err = await store.load().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConveyorError);
      expect((err as ConveyorError).code).toBe("CONFIG_INVALID");
      expect((err as Error).message).toContain(file);
    }
  });
});
