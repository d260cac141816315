/**
 * How a source stops: drained when the router revokes it with drain_first,
 * abandoned (no ack, nothing more delivered) when the routing table moves it
 * away without a revoke — what a sidecar presumed dead sees when it returns.
 */
import { DEFAULT_SETTINGS } from "../src/config/pipeline";
import type { RouterCommand__Output } from "../src/generated/conveyor/v1/RouterCommand";
import type { RoutingTable__Output } from "../src/generated/conveyor/v1/RoutingTable";
import { makeRecord } from "../src/records";
import type { Record, SourceBatch, SourceReader } from "../src/stages/contract";
import { createLogger } from "../src/telemetry/log";
import { Assignments } from "./assignments";
import type { ClientPool } from "./client-pool";
import type { Forwarder } from "./forwarder";
import type { LocalStages } from "./local-stages";
import { RoutingTable } from "./routing-table";
import { StageStats } from "./stage-stats";

const log = createLogger("test");
log.level = "silent";

class FakeReader implements SourceReader {
  batch: ((b: SourceBatch) => void) | undefined;
  grants: Array<{ credits: number; ackCursor?: string }> = [];
  closed = false;
  onBatch(handler: (b: SourceBatch) => void): void {
    this.batch = handler;
  }
  onEnd(): void {}
  grant(credits: number, ackCursor?: string): void {
    this.grants.push(ackCursor === undefined ? { credits } : { credits, ackCursor });
  }
  close(): void {
    this.closed = true;
  }
  get acks(): string[] {
    return this.grants.flatMap((g) => (g.ackCursor ? [g.ackCursor] : []));
  }
}

function table(generation: number, sourceOn: string): RoutingTable__Output {
  const instance = (id: string) => ({
    sidecarId: id,
    peerAddress: `${id}:1`,
    serviceEndpoint: "",
    serviceName: "builtin:sse",
    partitions: [],
  });
  return {
    version: generation,
    generation,
    pipelines: [
      {
        pipeline: "p",
        settings: { ...DEFAULT_SETTINGS, retry: DEFAULT_SETTINGS.retry },
        stages: [
          {
            index: 0,
            name: "src",
            kind: "STAGE_KIND_SOURCE",
            builtin: "sse",
            builtinConfigJson: "{}",
            deadLetter: false,
            instances: [instance(sourceOn)],
          },
          {
            index: 1,
            name: "out",
            kind: "STAGE_KIND_SINK",
            builtin: "file",
            builtinConfigJson: "{}",
            deadLetter: false,
            instances: [instance(sourceOn)],
          },
        ],
      },
    ],
  };
}

function setup() {
  const reader = new FakeReader();
  const pending: Array<{ records: Record[]; confirm(): void }> = [];
  let current = RoutingTable.empty();
  const forwarder = {
    get table() {
      return current;
    },
    setTable(t: RoutingTable) {
      current = t;
    },
    deliver: (_p: string, _i: number, records: Record[]) =>
      new Promise<void>((resolve) => pending.push({ records, confirm: resolve })),
  } as unknown as Forwarder;
  const localStages = { openSource: () => reader } as unknown as LocalStages;
  const assignments = new Assignments({
    sidecarId: "me",
    forwarder,
    pool: {} as ClientPool,
    localStages,
    stats: new StageStats(),
    drainGraceMs: 5000,
    log,
  });
  const send = (cmd: Omit<RouterCommand__Output, "generation">, generation = 1): void =>
    assignments.handle({ generation, ...cmd } as RouterCommand__Output);
  const start = (): void => {
    send({
      command: "assign",
      assign: { pipeline: "p", stage: "src", stageIndex: 0, generation: 1, routes: null, partitions: [] },
    });
    send({ command: "updateRoutes", updateRoutes: { table: table(1, "me") } });
    reader.batch!({ records: [makeRecord({ id: "r1", value: Buffer.from("x") })], cursor: "c1" });
  };
  const tick = () => new Promise((r) => setImmediate(r));
  return { reader, pending, send, start, tick, assignments };
}

describe("Assignments: how a source stops", () => {
  it("Revoke{drain_first}: stops reading, waits for in-flight records, acks them, then closes", async () => {
    const { reader, pending, send, start, tick } = setup();
    start();
    expect(pending).toHaveLength(1);
    send({ command: "revoke", revoke: { pipeline: "p", stage: "src", drainFirst: true, generation: 2 } }, 2);
    await tick();
    expect(reader.closed).toBe(false); // still draining
    pending[0]!.confirm();
    await tick();
    await tick();
    expect(reader.acks).toEqual(["c1"]);
    expect(reader.closed).toBe(true);
    // The ack returned no new credits: the source is not read any further.
    expect(reader.grants.at(-1)).toEqual({ credits: 0, ackCursor: "c1" });
  });

  it("a table that moves the source away without a revoke abandons it: closed at once, never acked", async () => {
    const { reader, pending, send, start, tick } = setup();
    start();
    send({ command: "updateRoutes", updateRoutes: { table: table(2, "other") } }, 2);
    await tick();
    expect(reader.closed).toBe(true);
    // A batch still buffered on the abandoned read is ignored.
    reader.batch!({ records: [makeRecord({ id: "r2", value: Buffer.from("y") })], cursor: "c2" });
    expect(pending).toHaveLength(1);
    pending[0]!.confirm();
    await tick();
    expect(reader.acks).toEqual([]);
  });

  it("a new heartbeat stream's full state keeps what is assigned again (no restart) and drops the rest", async () => {
    const { reader, send, start, tick, assignments } = setup();
    start();
    const assignSrc = {
      command: "assign" as const,
      assign: { pipeline: "p", stage: "src", stageIndex: 0, generation: 1, routes: null, partitions: [] },
    };
    // The router came back: same assignment, same table. The running read is kept.
    assignments.startSession();
    send(assignSrc);
    send({ command: "updateRoutes", updateRoutes: { table: table(1, "me") } });
    await tick();
    expect(reader.closed).toBe(false);

    // Presumed dead while away: the new stream's full state has no Assign for the source.
    assignments.startSession();
    send({ command: "updateRoutes", updateRoutes: { table: table(2, "other") } }, 2);
    await tick();
    expect(reader.closed).toBe(true);
    expect(reader.acks).toEqual([]);
  });
});
