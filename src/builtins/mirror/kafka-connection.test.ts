import * as net from "node:net";
import { KafkaConnection } from "./kafka-connection";

/** A broker stand-in: answers each request frame with `answer(correlationId)`, written in awkward pieces. */
async function fakeBroker(
  answer: (correlationId: number) => Buffer,
  pieces: (frame: Buffer) => Buffer[],
): Promise<{ port: number; close(): void; requests: number[] }> {
  const requests: number[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const correlationId = buffered.readInt32BE(8); // size, api key, version, correlation id
        requests.push(correlationId);
        buffered = buffered.subarray(4 + buffered.readInt32BE(0));
        const body = answer(correlationId);
        const frame = Buffer.alloc(8 + body.length);
        frame.writeInt32BE(4 + body.length, 0);
        frame.writeInt32BE(correlationId, 4);
        body.copy(frame, 8);
        for (const piece of pieces(frame)) socket.write(piece);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const bodyFor = (id: number): Buffer => Buffer.alloc(id * 100_000, id);

describe("KafkaConnection", () => {
  it("matches pipelined responses to requests, however the bytes are split", async () => {
    const split = (frame: Buffer): Buffer[] => [
      frame.subarray(0, 1), // inside the size
      frame.subarray(1, 6), // rest of the size + part of the correlation id
      frame.subarray(6, 7000),
      frame.subarray(7000),
    ];
    const broker = await fakeBroker(bodyFor, split);
    const c = await KafkaConnection.connect("127.0.0.1", broker.port, "test", 1000);
    try {
      const answers = await Promise.all([1, 2, 3].map(() => c.request(1, 4, Buffer.from("x"))));
      expect(answers.map((a) => a.length)).toEqual([100_000, 200_000, 300_000]);
      answers.forEach((a, i) => expect(a.every((b) => b === i + 1)).toBe(true));
      expect(broker.requests).toEqual([1, 2, 3]);
    } finally {
      c.close();
      broker.close();
    }
  });

  it("fails what is pending when the broker goes away, and refuses new requests", async () => {
    const broker = await fakeBroker(bodyFor, () => []); // never answers
    const c = await KafkaConnection.connect("127.0.0.1", broker.port, "test", 1000);
    const pending = c.request(1, 4, Buffer.from("x"));
    await new Promise((r) => setTimeout(r, 50));
    broker.close();
    await expect(pending).rejects.toThrow(/connection to broker 127\.0\.0\.1:\d+ closed/);
    await expect(c.request(1, 4, Buffer.alloc(0))).rejects.toThrow(/closed/);
  });

  it("names the address when it cannot connect", async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((r) => server.close(r));
    await expect(KafkaConnection.connect("127.0.0.1", port, "test", 1000)).rejects.toThrow(
      new RegExp(`cannot connect to broker 127\\.0\\.0\\.1:${port}`),
    );
  });
});
