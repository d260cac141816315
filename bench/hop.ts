/**
 * The transport floor: CPU per record of one gRPC hop that does nothing but
 * carry bytes, so the pipeline figures can be read against what the transport
 * alone costs on this machine.
 *
 *   client ──bidi stream, batches of 100 × ~1 KB (pre-built bytes, 32 in flight)──► server
 *          ◄──────────────── a 2-byte answer per batch ───────────────────────────┘
 *
 * Two transports, same machine, same run:
 * - `grpc-js`: @grpc/grpc-js client and server with identity codecs and the
 *   data path's wide HTTP/2 windows (src/sdk/flow-control.ts): what every
 *   Conveyor hop and every hop of the direct baseline pays before any codec.
 * - `http2`: node:http2 with the 5-byte gRPC message framing done by hand (no
 *   status, deadlines or retries): how much of that is grpc-js, not HTTP/2.
 *
 * CPU is each process's user+system time (process.cpuUsage) from the first
 * measured batch to the last answer, after a warm-up of a tenth of the batches.
 *
 *   tsx bench/hop.ts [--batches N] [--record-bytes B] [--batch-records N]
 */
import { fork, type ChildProcess } from "node:child_process";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import {
  CONNECTION_WINDOW_BYTES,
  FLOW_CONTROL_CHANNEL_OPTIONS,
  STREAM_WINDOW_BYTES,
  widenServerWindows,
} from "../src/sdk/flow-control";

export type HopTransport = "grpc-js" | "http2";

export interface HopOptions {
  batches: number;
  recordBytes: number;
  batchRecords: number;
  /** Batches in flight (the sidecar's window for a user stage). */
  window: number;
}

export interface HopResult {
  transport: HopTransport;
  batchBytes: number;
  batches: number;
  recordsPerSec: number;
  clientMicrosPerRecord: number;
  serverMicrosPerRecord: number;
  /** Client + server: the CPU one hop costs per record. */
  hopMicrosPerRecord: number;
}

export const HOP_DEFAULTS: HopOptions = { batches: 4000, recordBytes: 1045, batchRecords: 100, window: 32 };

const PATH = "/conveyor.bench.Hop/Carry";
const identity = (b: Buffer): Buffer => b;
const HOP_SERVICE: grpc.ServiceDefinition = {
  Carry: {
    path: PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
/** The per-batch answer (a ForwardAck-sized message). */
const ANSWER = Buffer.from([0x08, 0x01]);

type ToServer = { stop: true };
type FromServer = { port: number } | { cpuMicros: number };

// ---------------------------------------------------------------------------
// Server (a child process)

async function serveGrpc(): Promise<number> {
  const server = new grpc.Server();
  server.addService(HOP_SERVICE, {
    Carry(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      call.on("data", () => call.write(ANSWER));
      call.on("end", () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  widenServerWindows(server);
  return port;
}

/** gRPC message framing by hand: 1 byte compressed flag, 4 bytes length, message. */
async function serveHttp2(): Promise<number> {
  const server = http2.createServer({ settings: { initialWindowSize: STREAM_WINDOW_BYTES } });
  server.on("session", (s) => s.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
  const framedAnswer = Buffer.concat([Buffer.from([0, 0, 0, 0, ANSWER.length]), ANSWER]);
  server.on("stream", (stream) => {
    stream.respond({ ":status": 200, "content-type": "application/grpc" });
    let chunks: Buffer[] = [];
    let buffered = 0;
    let need = -1;
    stream.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      buffered += chunk.length;
      for (;;) {
        if (need < 0) {
          if (buffered < 5) return;
          const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          chunks = [head];
          need = 5 + head.readUInt32BE(1);
        }
        if (buffered < need) return;
        const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        const rest = all.subarray(need); // the message itself is all[5, need)
        chunks = rest.length > 0 ? [rest] : [];
        buffered = rest.length;
        need = -1;
        stream.write(framedAnswer);
      }
    });
    stream.on("end", () => stream.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function serverMain(transport: HopTransport): Promise<void> {
  const port = transport === "grpc-js" ? await serveGrpc() : await serveHttp2();
  let from = process.cpuUsage();
  process.on("message", (m: ToServer | { start: true }) => {
    if ("start" in m) {
      from = process.cpuUsage();
      return;
    }
    const used = process.cpuUsage(from);
    process.send!({ cpuMicros: used.user + used.system } satisfies FromServer, () => process.exit(0));
  });
  process.send!({ port } satisfies FromServer);
}

// ---------------------------------------------------------------------------
// Client (this process)

interface HopClient {
  send(batch: Buffer): void;
  onAnswer(handler: () => void): void;
  close(): void;
}

function grpcClient(port: number): HopClient {
  const Client = grpc.makeGenericClientConstructor(HOP_SERVICE, "Hop");
  const client = new Client(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
    FLOW_CONTROL_CHANNEL_OPTIONS,
  );
  const call = (client as unknown as { Carry(): grpc.ClientDuplexStream<Buffer, Buffer> }).Carry();
  call.on("error", () => undefined); // the server stops after the run; the figures are in by then
  return {
    send: (batch) => void call.write(batch),
    onAnswer: (handler) => call.on("data", handler),
    close: () => {
      call.end();
      client.close();
    },
  };
}

function http2Client(port: number): HopClient {
  const session = http2.connect(`http://127.0.0.1:${port}`, {
    settings: { initialWindowSize: STREAM_WINDOW_BYTES },
  });
  session.on("connect", () => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES));
  session.on("error", () => undefined); // as above
  const stream = session.request({
    ":method": "POST",
    ":path": PATH,
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.on("error", () => undefined);
  const answerBytes = 5 + ANSWER.length;
  let pending = 0;
  return {
    send: (batch) => {
      const framed = Buffer.allocUnsafe(5 + batch.length);
      framed[0] = 0;
      framed.writeUInt32BE(batch.length, 1);
      batch.copy(framed, 5);
      stream.write(framed);
    },
    onAnswer: (handler) =>
      stream.on("data", (chunk: Buffer) => {
        pending += chunk.length;
        while (pending >= answerBytes) {
          pending -= answerBytes;
          handler();
        }
      }),
    close: () => {
      stream.end();
      session.close();
    },
  };
}

function request(child: ChildProcess, message: object): Promise<FromServer> {
  return new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(m as FromServer));
    child.once("exit", (code) => reject(new Error(`hop server exited with ${code}`)));
    if (Object.keys(message).length > 0) child.send(message);
  });
}

/** One hop: a server child, this process as the client. */
export async function measureHop(transport: HopTransport, o: HopOptions = HOP_DEFAULTS): Promise<HopResult> {
  const child = fork(__filename, ["--serve", transport], { execArgv: process.execArgv, stdio: "inherit" });
  try {
    const hello = await request(child, {});
    if (!("port" in hello)) throw new Error("hop server did not report its port");
    const client = transport === "grpc-js" ? grpcClient(hello.port) : http2Client(hello.port);
    // Pre-built batches: the hop is measured, not the encoding (copied per send, as a codec would allocate).
    const batch = Buffer.alloc(o.batchRecords * o.recordBytes, 0x61);
    const warmup = Math.max(1, Math.floor(o.batches / 10));
    const total = warmup + o.batches;
    let sent = 0;
    let answered = 0;
    let startedAt = 0;
    let fromCpu = process.cpuUsage();
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (sent < total && sent - answered < o.window) {
          sent++;
          client.send(Buffer.from(batch));
        }
      };
      client.onAnswer(() => {
        answered++;
        if (answered === warmup) {
          startedAt = performance.now();
          fromCpu = process.cpuUsage();
          child.send({ start: true });
        }
        if (answered === total) resolve();
        else pump();
      });
      pump();
    });
    const elapsedMs = performance.now() - startedAt;
    const clientCpu = process.cpuUsage(fromCpu);
    client.close();
    const report = await request(child, { stop: true });
    if (!("cpuMicros" in report)) throw new Error("hop server did not report its CPU");
    const records = o.batches * o.batchRecords;
    const clientMicrosPerRecord = (clientCpu.user + clientCpu.system) / records;
    const serverMicrosPerRecord = report.cpuMicros / records;
    return {
      transport,
      batchBytes: batch.length,
      batches: o.batches,
      recordsPerSec: Math.round(records / (elapsedMs / 1000)),
      clientMicrosPerRecord: round2(clientMicrosPerRecord),
      serverMicrosPerRecord: round2(serverMicrosPerRecord),
      hopMicrosPerRecord: round2(clientMicrosPerRecord + serverMicrosPerRecord),
    };
  } finally {
    if (child.exitCode === null) child.kill();
  }
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Both transports, alternating (grpc-js, http2, http2, grpc-js, …). */
export async function measureTransportFloor(repeats = 2, o: HopOptions = HOP_DEFAULTS): Promise<HopResult[]> {
  const out: HopResult[] = [];
  for (let i = 0; i < repeats; i++) {
    const order: HopTransport[] = i % 2 === 0 ? ["grpc-js", "http2"] : ["http2", "grpc-js"];
    for (const t of order) out.push(await measureHop(t, o));
  }
  return out;
}

if (require.main === module) {
  const serveAt = process.argv.indexOf("--serve");
  if (serveAt >= 0) {
    void serverMain(process.argv[serveAt + 1] as HopTransport);
  } else {
    const arg = (name: string, d: number): number => {
      const i = process.argv.indexOf(name);
      return i >= 0 ? Number(process.argv[i + 1]) : d;
    };
    const o: HopOptions = {
      ...HOP_DEFAULTS,
      batches: arg("--batches", HOP_DEFAULTS.batches),
      recordBytes: arg("--record-bytes", HOP_DEFAULTS.recordBytes),
      batchRecords: arg("--batch-records", HOP_DEFAULTS.batchRecords),
    };
    void measureTransportFloor(2, o).then((rs) => {
      for (const r of rs) process.stdout.write(`${JSON.stringify(r)}\n`);
    });
  }
}
