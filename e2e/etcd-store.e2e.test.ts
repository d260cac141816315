/**
 * The guard of router/store/etcd.ts against a real etcd: a commit of the
 * current leader lands; once another router created the leader key again (a
 * new term), the old leader's commit is refused by etcd itself — not by its
 * own clock — and the store deposes it; a state written by someone else
 * behind the leader's back is refused too.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Etcd3 } from "etcd3";
import { ConveyorError } from "../src/errors";
import { createLogger } from "../src/telemetry/log";
import type { LeaderGuard } from "../router/cluster/guarded-commit";
import { EtcdStore } from "../router/store/etcd";
import type { RouterState } from "../router/store/store";
import { EtcdServer } from "./harness/etcd";
import { freePortBlock } from "./harness/ports";

jest.setTimeout(30_000);

const state = (generation: number): RouterState => ({
  generation,
  pipelines: [{ name: "p", definition: '{"name":"p","source":{"stage":"gen"},"sink":{"stage":"out"}}' }],
  assignments: [{ pipeline: "p", stage: "gen", stageIndex: 0, sidecarId: "a", partitions: [], generation }],
});

describe("EtcdStore guard", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-etcd-store-"));
  let server: EtcdServer;
  let client: Etcd3;

  beforeAll(async () => {
    const port = await freePortBlock(["127.0.0.1"], 2);
    server = new EtcdServer(dir, "127.0.0.1", port, port + 1);
    await server.start();
    client = new Etcd3({ hosts: `http://${server.endpoint}` });
  });
  afterAll(async () => {
    client.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Creates the leader key as a campaign would; returns the guard of that term. */
  const elect = async (address: string): Promise<LeaderGuard> => {
    await client.delete().key("/t/leader");
    const res = await client
      .if("/t/leader", "Create", "==", 0)
      .then(client.put("/t/leader").value(address))
      .commit();
    expect(res.succeeded).toBe(true);
    return { key: "/t/leader", createRevision: res.header.revision, leaseId: "0" };
  };

  const storeWith = (guard: () => LeaderGuard | undefined, deposed: string[]): EtcdStore =>
    new EtcdStore({
      client,
      endpoints: server.endpoint,
      prefix: "/t/",
      guard,
      onDeposed: (reason) => deposed.push(reason),
      log: createLogger("test"),
    });

  it("lets only the current term commit, and never behind another writer's back", async () => {
    const oldTerm = await elect("a:7070");
    const deposedA: string[] = [];
    const a = storeWith(() => oldTerm, deposedA);
    expect(await a.load()).toBeUndefined();
    await a.save(state(1));
    await a.save(state(2));

    // A new term: router b is elected (a's lease expired while it was paused).
    const newTerm = await elect("b:7070");
    const b = storeWith(() => newTerm, []);
    expect((await b.load())?.generation).toBe(2);
    await b.save(state(3));

    // a wakes up with its old guard, which its own clock still believes in: etcd refuses.
    const refused = await a.save(state(3)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ConveyorError);
    expect((refused as ConveyorError).code).toBe("NOT_LEADER");
    expect(deposedA).toHaveLength(1);
    expect((await b.load())?.generation).toBe(3);

    // Someone else writes the state key: the leader's next commit is refused, not blindly overwriting it.
    await client.put("/t/state").value(JSON.stringify({ formatVersion: 1, ...state(9) }));
    await expect(b.save(state(4))).rejects.toThrow(/not the leader any more/);
  });

  it("refuses a generation that goes down, and says when etcd is unreachable", async () => {
    const term = await elect("c:7070");
    const c = storeWith(() => term, []);
    expect((await c.load())?.generation).toBe(9);
    await expect(c.save(state(8))).rejects.toThrow(/generations never go down/);

    const nowhere = new Etcd3({ hosts: "http://127.0.0.1:1", dialTimeout: 300 });
    const unreachable = new EtcdStore({
      client: nowhere,
      endpoints: "127.0.0.1:1",
      prefix: "/t/",
      guard: () => term,
      onDeposed: () => undefined,
      log: createLogger("test"),
    });
    const err = await unreachable.load().then(
      () => undefined,
      (e: unknown) => e,
    );
    nowhere.close();
    expect((err as ConveyorError).code).toBe("STORE_UNAVAILABLE");
    expect((err as ConveyorError).message).toMatch(/etcd at 127\.0\.0\.1:1 is unreachable/);
  });
});
