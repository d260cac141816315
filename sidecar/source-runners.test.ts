/**
 * How sources follow the routing table: drained when a table of the same
 * session moves them away, abandoned (no ack, nothing more delivered) when the
 * first table of a new session does — what a sidecar presumed dead sees when it
 * returns — and never two readers of one source: a replacement reader opens
 * only after the old one stopped with its last ack sent.
 */
import { DEFAULT_SETTINGS } from "../src/config/pipeline";
import type { RoutingTable__Output } from "../src/generated/conveyor/v1/RoutingTable";
import { makeRecord } from "../src/records";
import type { Record, SourceBatch, SourceReader } from "../src/stages/contract";
import { createLogger } from "../src/telemetry/log";
import type { ClientPool } from "./client-pool";
import type { Forwarder } from "./forwarder";
import type { LocalStages } from "./local-stages";
import { RoutingTable } from "./routing-table";
import { SourceRunners } from "./source-runners";
import { StageStats } from "./stage-stats";
import { TableHolder } from "./table-holder";

const log = createLogger("test");
log.level = "silent";

class FakeReader implements SourceReader {
  batch: ((b: SourceBatch) => void) | undefined;
  grants: Array<{ credits: number; ackCursor?: string }> = [];
  closed = false;
  constructor(
    readonly id: number,
    private readonly events: string[],
  ) {
    events.push(`open ${id}`);
  }
  onBatch(handler: (b: SourceBatch) => void): void {
    this.batch = handler;
  }
  onEnd(): void {}
  grant(credits: number, ackCursor?: string): void {
    this.grants.push(ackCursor === undefined ? { credits } : { credits, ackCursor });
    if (ackCursor) this.events.push(`ack ${this.id} ${ackCursor}`);
  }
  close(): Promise<void> {
    this.closed = true;
    this.events.push(`close ${this.id}`);
    return Promise.resolve();
  }
  get acks(): string[] {
    return this.grants.flatMap((g) => (g.ackCursor ? [g.ackCursor] : []));
  }
  emit(id: string, cursor: string): void {
    this.batch!({ records: [makeRecord({ id, value: Buffer.from("x") })], cursor });
  }
}

function table(generation: number, sourceOn: string, sourceGeneration = 1): RoutingTable__Output {
  const instance = (id: string, g: number) => ({
    sidecarId: id,
    peerAddress: `${id}:1`,
    serviceEndpoint: "",
    serviceName: "builtin:sse",
    partitions: [],
    generation: g,
  });
  return {
    version: generation,
    generation,
    pipelines: [
      {
        pipeline: "p",
        generation,
        settings: { ...DEFAULT_SETTINGS, retry: DEFAULT_SETTINGS.retry },
        stages: [
          {
            index: 0,
            name: "src",
            kind: "STAGE_KIND_SOURCE",
            builtin: "sse",
            builtinConfigJson: "{}",
            deadLetter: false,
            instances: [instance(sourceOn, sourceGeneration)],
          },
          {
            index: 1,
            name: "out",
            kind: "STAGE_KIND_SINK",
            builtin: "file",
            builtinConfigJson: "{}",
            deadLetter: false,
            instances: [instance(sourceOn, sourceGeneration)],
          },
        ],
      },
    ],
  };
}

function setup() {
  const events: string[] = [];
  const readers: FakeReader[] = [];
  const pending: Array<{ records: Record[]; confirm(): void }> = [];
  const tables = new TableHolder();
  const forwarder = {
    get table() {
      return tables.current;
    },
    deliverSettled: (_p: string, _i: number, records: Record[]) =>
      new Promise<object>((resolve) => pending.push({ records, confirm: () => resolve({}) })),
  } as unknown as Forwarder;
  const localStages = {
    openSource: () => {
      const r = new FakeReader(readers.length + 1, events);
      readers.push(r);
      return r;
    },
  } as unknown as LocalStages;
  let claimsChanged = 0;
  const runners = new SourceRunners({
    forwarder,
    pool: {} as ClientPool,
    localStages,
    stats: new StageStats(),
    drainGraceMs: 5000,
    onClaimsChanged: () => claimsChanged++,
    log,
  });
  tables.onChange((c) => runners.apply(c));
  const send = (t: RoutingTable__Output, newSession = false): void =>
    tables.set(RoutingTable.fromProto(t, "me"), newSession);
  const tick = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  const start = async (): Promise<FakeReader> => {
    send(table(1, "me"), true);
    await tick();
    readers[0]!.emit("r1", "c1");
    return readers[0]!;
  };
  return { events, readers, pending, send, start, tick, runners, claims: () => claimsChanged };
}

describe("SourceRunners: sources follow the routing table", () => {
  it("a table of the same session that moves the source away drains it: waits for in-flight records, acks them, then closes", async () => {
    const { pending, send, start, tick, runners } = setup();
    const reader = await start();
    expect(pending).toHaveLength(1);
    expect(runners.claims()).toEqual([{ pipeline: "p", stage: "src", partitions: [], generation: 1 }]);
    send(table(2, "other", 2));
    await tick();
    expect(reader.closed).toBe(false); // still draining
    expect(runners.claims()).toHaveLength(1); // and still claimed, so the router does not hand it over yet
    pending[0]!.confirm();
    await tick();
    expect(reader.acks).toEqual(["c1"]);
    expect(reader.closed).toBe(true);
    expect(runners.claims()).toEqual([]);
    // The ack returned no new credits: the source is not read any further.
    expect(reader.grants.at(-1)).toEqual({ credits: 0, ackCursor: "c1" });
  });

  it("the first table of a new session that no longer has the source abandons it: closed at once, never acked", async () => {
    const { pending, send, start, tick } = setup();
    const reader = await start();
    send(table(2, "other", 2), true);
    await tick();
    expect(reader.closed).toBe(true);
    // A batch still buffered on the abandoned read is ignored.
    reader.emit("r2", "c2");
    expect(pending).toHaveLength(1);
    pending[0]!.confirm();
    await tick();
    expect(reader.acks).toEqual([]);
  });

  it("a new session's table that still places the source here keeps the running read (no restart)", async () => {
    const { readers, send, start, tick } = setup();
    const reader = await start();
    send(table(1, "me"), true);
    await tick();
    expect(reader.closed).toBe(false);
    expect(readers).toHaveLength(1);
  });

  it("a changed placement here (new instance generation) opens the new reader only after the old one acked and closed", async () => {
    const { events, readers, pending, send, start, tick, runners } = setup();
    await start();
    send(table(2, "me", 2));
    await tick();
    // Before the fix the replacement opened at once, beside the draining reader.
    expect(readers).toHaveLength(1);
    pending[0]!.confirm();
    await tick();
    expect(events).toEqual(["open 1", "ack 1 c1", "close 1", "open 2"]);
    expect(runners.claims()).toEqual([{ pipeline: "p", stage: "src", partitions: [], generation: 2 }]);
  });

  it("tables that change while a reader drains converge on the last one", async () => {
    const { events, pending, send, start, tick, runners } = setup();
    await start();
    send(table(2, "other", 2));
    send(table(3, "me", 3));
    send(table(4, "me", 4));
    await tick();
    pending[0]!.confirm();
    await tick();
    expect(events).toEqual(["open 1", "ack 1 c1", "close 1", "open 2"]);
    expect(runners.claims()).toEqual([{ pipeline: "p", stage: "src", partitions: [], generation: 4 }]);
  });

  it("stopAll drains every source and starts nothing after", async () => {
    const { events, pending, send, start, tick, runners } = setup();
    await start();
    const stopped = runners.stopAll();
    send(table(2, "me", 2));
    pending[0]!.confirm();
    await stopped;
    await tick();
    expect(events).toEqual(["open 1", "ack 1 c1", "close 1"]);
  });
});
