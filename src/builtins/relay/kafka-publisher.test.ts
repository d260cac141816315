import type { ProducerRecord } from "kafkajs";
import { createLogger } from "../../telemetry/log";
import {
  EVENT_ID_HEADER,
  EVENT_TYPE_HEADER,
  KafkaPublisher,
  kafkaMessage,
  nextBatchSize,
  type KafkaSender,
} from "./kafka-publisher";
import { eventKey, type RelayEvent } from "./publisher";

const log = createLogger("kafka-publisher-test");
log.level = "silent";

function event(i: number, data: Record<string, unknown> = { wiki: `wiki${i % 3}` }, id?: string): RelayEvent {
  return {
    id: id ?? `id-${i}`,
    lastEventId: id ?? `id-${i}`,
    type: "message",
    data: JSON.stringify(data),
    receivedAtMs: 1_000,
  };
}

describe("eventKey / kafkaMessage", () => {
  it("keys by data.wiki, else meta.domain, else the event identity", () => {
    expect(eventKey(event(0, { wiki: "enwiki", meta: { domain: "en.wikipedia.org" } }))).toBe("enwiki");
    expect(eventKey(event(0, { wiki: "", meta: { domain: "en.wikipedia.org" } }))).toBe("en.wikipedia.org");
    expect(eventKey(event(0, { meta: { id: "m-1" } }, ""))).toBe("m-1"); // no SSE id: meta.id
    expect(eventKey(event(0, { x: 1 }, '[{"offset":5}]'))).toBe('[{"offset":5}]');
    expect(eventKey({ ...event(0), id: undefined, data: "not json" })).toMatch(/^[0-9a-f]{64}$/);
  });

  it("carries the data, the identity and type headers, and meta.dt as the timestamp", () => {
    const e = event(7, { wiki: "dewiki", meta: { dt: "2024-01-01T00:00:01Z", id: "m-7" } });
    expect(kafkaMessage(e)).toEqual({
      key: "dewiki",
      value: e.data,
      timestamp: String(Date.UTC(2024, 0, 1, 0, 0, 1)),
      headers: { [EVENT_ID_HEADER]: "id-7", [EVENT_TYPE_HEADER]: "message" },
    });
    // No meta.dt: the receive time.
    expect(kafkaMessage(event(1)).timestamp).toBe("1000");
  });
});

describe("nextBatchSize", () => {
  it("takes at least one entry, then stops at the event or byte limit", () => {
    expect(nextBatchSize([], 10, 100)).toBe(0);
    expect(nextBatchSize([500], 10, 100)).toBe(1); // one oversized event still goes (the broker judges it)
    expect(nextBatchSize([10, 10, 10, 10], 3, 100)).toBe(3);
    expect(nextBatchSize([40, 40, 40], 10, 100)).toBe(2);
    expect(nextBatchSize([40, 60, 1], 10, 100)).toBe(2);
  });
});

/** A fake producer: each send() waits until the test releases or fails it. */
class FakeProducer implements KafkaSender {
  readonly sends: ProducerRecord[] = [];
  private pending: Array<{ resolve(): void; reject(err: Error): void }> = [];
  connected = false;
  disconnects = 0;

  async connect(): Promise<void> {
    this.connected = true;
  }
  send(record: ProducerRecord): Promise<unknown> {
    this.sends.push(record);
    return new Promise<void>((resolve, reject) => this.pending.push({ resolve, reject }));
  }
  async disconnect(): Promise<void> {
    this.disconnects++;
  }
  ack(): void {
    this.pending.shift()?.resolve();
  }
  fail(err: Error): void {
    this.pending.shift()?.reject(err);
  }
}

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setImmediate(r));
  if (!check()) throw new Error("condition not reached");
};

describe("KafkaPublisher batching", () => {
  function publisher(producers: FakeProducer[], opts: { maxBatchEvents?: number } = {}): KafkaPublisher {
    return new KafkaPublisher({
      brokers: ["127.0.0.1:9092"],
      topic: "t",
      log,
      maxBatchEvents: opts.maxBatchEvents,
      newProducer: () => {
        const p = new FakeProducer();
        producers.push(p);
        return p;
      },
    });
  }

  it("sends what was published in one turn as one request, and queues the rest behind the request in flight", async () => {
    const producers: FakeProducer[] = [];
    const pub = publisher(producers, { maxBatchEvents: 4 });
    await pub.open();
    const settled: string[] = [];
    const publishes = [0, 1, 2].map((i) => pub.publish(event(i)).then((o) => void settled.push(`${i}:${o}`)));
    await until(() => producers[0]?.sends.length === 1);
    const p = producers[0];
    expect(p.sends[0].acks).toBe(-1);
    expect(p.sends[0].messages.map((m) => m.headers?.[EVENT_ID_HEADER])).toEqual(["id-0", "id-1", "id-2"]);
    // While request 1 is in flight, 6 more events queue up: the next requests take 4, then 2.
    const more = [3, 4, 5, 6, 7, 8].map((i) =>
      pub.publish(event(i)).then((o) => void settled.push(`${i}:${o}`)),
    );
    await new Promise((r) => setImmediate(r));
    expect(p.sends).toHaveLength(1);
    expect(settled).toEqual([]); // nothing resolves before the broker acked
    p.ack();
    await Promise.all(publishes);
    expect(settled).toEqual(["0:written", "1:written", "2:written"]);
    await until(() => p.sends.length === 2);
    expect(p.sends[1].messages).toHaveLength(4);
    p.ack();
    await until(() => p.sends.length === 3);
    expect(p.sends[2].messages).toHaveLength(2);
    p.ack();
    await Promise.all(more);
    expect(settled).toHaveLength(9);
    await pub.close();
    expect(p.disconnects).toBe(1);
  });

  it("a failed request rejects its batch and everything queued behind it, then starts a new producer", async () => {
    const producers: FakeProducer[] = [];
    const pub = publisher(producers);
    await pub.open();
    const first = [0, 1].map((i) => pub.publish(event(i)));
    await until(() => producers[0]?.sends.length === 1);
    const queued = [2, 3].map((i) => pub.publish(event(i)));
    producers[0].fail(new Error("NOT_ENOUGH_REPLICAS"));
    for (const p of [...first, ...queued]) {
      await expect(p).rejects.toMatchObject({
        code: "RELAY_PUBLISH_FAILED",
        message: expect.stringMatching(
          /127\.0\.0\.1:9092 topic t: producing 2 events failed: NOT_ENOUGH_REPLICAS/,
        ),
      });
    }
    expect(producers[0].sends).toHaveLength(1); // the queued events were never sent after the failure
    expect(producers[0].disconnects).toBe(1);
    const again = pub.publish(event(2));
    await until(() => producers[1]?.sends.length === 1);
    producers[1].ack();
    await expect(again).resolves.toBe("written");
    await pub.close();
  });

  it("a producer that cannot connect fails the publish with the broker in the message", async () => {
    const pub = new KafkaPublisher({
      brokers: ["127.0.0.1:1"],
      topic: "t",
      log,
      newProducer: () => ({
        connect: () => Promise.reject(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:1")),
        send: () => Promise.reject(new Error("not connected")),
        disconnect: async () => undefined,
      }),
    });
    await pub.open();
    await expect(pub.publish(event(0))).rejects.toThrow(/127\.0\.0\.1:1 topic t: .*ECONNREFUSED/);
    await pub.close();
  });

  it("rejects brokers that are not host:port", () => {
    expect(() => new KafkaPublisher({ brokers: ["localhost"], topic: "t", log })).toThrow(/host:port/);
  });
});
