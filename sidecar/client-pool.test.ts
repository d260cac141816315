import { makeRecord } from "../src/records";
import { serveSink, type StageServer } from "../src/sdk";
import { createLogger } from "../src/telemetry/log";
import { ClientPool } from "./client-pool";

const log = createLogger("test");
log.level = "silent";

describe("ClientPool", () => {
  let sink: StageServer;
  const failed: string[] = [];

  beforeAll(async () => {
    sink = await serveSink(0, () => undefined, { name: "out" });
  });
  afterAll(() => sink.stop(100));
  beforeEach(() => (failed.length = 0));

  const pool = (idleMs = 60_000): ClientPool =>
    new ClientPool({
      idleMs,
      batchTimeoutMs: 2000,
      peerTimeoutMs: 2000,
      log,
      onEndpointFailed: (endpoint) => failed.push(endpoint),
    });

  it("reuses one client per endpoint and stage", async () => {
    const p = pool();
    try {
      const a = p.sink(sink.address, "out");
      expect(p.sink(sink.address, "out")).toBe(a);
      const results = await a.write([makeRecord({ id: "1", value: Buffer.from("x") })]);
      expect(results).toEqual([{ id: "1", error: null }]);
    } finally {
      p.close();
    }
  });

  it("evicts an endpoint whose stream broke and reports it, then dials afresh", async () => {
    const p = pool();
    try {
      const dead = p.sink("127.0.0.1:1", "gone");
      await expect(dead.write([makeRecord({ id: "1", value: Buffer.from("x") })])).rejects.toMatchObject({
        code: "PEER_UNAVAILABLE",
      });
      expect(failed).toEqual(["127.0.0.1:1"]);
      expect(p.sink("127.0.0.1:1", "gone")).not.toBe(dead);
    } finally {
      p.close();
    }
  });

  it("closes channels that stayed idle", async () => {
    const p = pool(50);
    try {
      const first = p.sink(sink.address, "out");
      await new Promise((r) => setTimeout(r, 1200));
      expect(p.sink(sink.address, "out")).not.toBe(first);
    } finally {
      p.close();
    }
  });
});
