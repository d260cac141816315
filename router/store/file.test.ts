import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConveyorError } from "../../src/errors";
import { FileStore } from "./file";
import type { RouterState } from "./store";

const state: RouterState = {
  generation: 42,
  pipelines: [
    { name: "orders", definition: '{"name":"orders","source":{"stage":"orders"},"sink":{"stage":"store"}}' },
  ],
  assignments: [
    {
      pipeline: "orders",
      stage: "orders",
      stageIndex: 0,
      sidecarId: "a",
      partitions: [0, 2],
      generation: 41,
    },
  ],
};

describe("FileStore", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "conveyor-store-"));
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it("loads nothing before the first save, then exactly what was saved", async () => {
    const file = path.join(dir, "nested", "router.json");
    const store = new FileStore(file);
    expect(await store.load()).toBeUndefined();
    await store.save(state);
    expect(await store.load()).toEqual(state);
    // A new instance (a restarted router) reads the same.
    expect(await new FileStore(file).load()).toEqual(state);
    expect(store.description).toBe(`file:${file}`);
    // Waiting hand-offs round-trip too; a state written before they existed reads as it was.
    const waiting = {
      ...state,
      handoffs: [{ pipeline: "orders", stage: "orders", partition: 2, from: "a", to: "b" }],
    };
    await store.save(waiting);
    expect(await store.load()).toEqual(waiting);
  });

  it("replaces the file atomically and leaves no temp files", async () => {
    const file = path.join(dir, "router.json");
    const store = new FileStore(file);
    await store.save(state);
    await store.save({ ...state, generation: 43 });
    expect((await store.load())?.generation).toBe(43);
    expect(await fsp.readdir(dir)).toEqual(["router.json"]);

    // A write that fails before the rename leaves the previous state intact.
    jest.spyOn(fsp, "rename").mockRejectedValueOnce(new Error("disk on fire"));
    await expect(store.save({ ...state, generation: 44 })).rejects.toThrow(
      /could not write router state.*disk on fire/,
    );
    expect((await store.load())?.generation).toBe(43);
    expect(await fsp.readdir(dir)).toEqual(["router.json"]);
  });

  it("refuses a corrupt file with an error naming it", async () => {
    const file = path.join(dir, "router.json");
    await fsp.writeFile(file, '{"formatVersion":1,"generation":');
    const err = await new FileStore(file).load().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConveyorError);
    expect((err as ConveyorError).code).toBe("CONFIG_INVALID");
    expect((err as ConveyorError).message).toContain(file);
    expect((err as ConveyorError).message).toContain("not valid JSON");

    await fsp.writeFile(
      file,
      JSON.stringify({ formatVersion: 1, generation: -1, pipelines: {}, assignments: [] }),
    );
    await expect(new FileStore(file).load()).rejects.toThrow(
      new RegExp(`${file}.*generation is not a non-negative integer; pipelines is not an array`),
    );
    await fsp.writeFile(
      file,
      JSON.stringify({
        formatVersion: 1,
        generation: 1,
        pipelines: [],
        assignments: [],
        handoffs: [{ partition: -2 }],
      }),
    );
    await expect(new FileStore(file).load()).rejects.toThrow(/handoffs\[0\] is malformed/);
    const table = {
      table: { version: 3, generation: 3, pipelines: [] },
      stamps: [{ id: '["p"]', key: "{}", generation: 2 }],
    };
    const state = { generation: 3, pipelines: [], assignments: [] };
    await fsp.writeFile(file, JSON.stringify({ formatVersion: 1, ...state, table }));
    await expect(new FileStore(file).load()).resolves.toEqual({ ...state, table });
    await fsp.writeFile(
      file,
      JSON.stringify({ formatVersion: 1, ...state, table: { ...table, stamps: [{ id: 1 }] } }),
    );
    await expect(new FileStore(file).load()).rejects.toThrow(/table needs table.version/);
  });
});
