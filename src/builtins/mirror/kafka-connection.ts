/**
 * One plain TCP connection to a Kafka broker: size-prefixed request frames
 * out, responses matched to requests in order (Kafka answers a connection's
 * requests in the order they were sent). Used by the mirror's fetcher only;
 * the rest of the mirror talks to Kafka through kafkajs.
 *
 * Responses are read straight into their own buffer (net's `onread` with a
 * buffer per read: first the 4-byte size, then the rest of that frame), so a
 * multi-megabyte fetch is neither gathered from 64 KiB chunks nor copied.
 */
import * as net from "node:net";
import { encodeRequestFrame } from "./kafka-fetch-protocol";

interface Pending {
  correlationId: number;
  resolve(body: Buffer): void;
  reject(err: Error): void;
}

export class KafkaConnection {
  private readonly pending: Pending[] = [];
  private nextCorrelationId = 1;
  private closedWith: Error | undefined;
  private socket!: net.Socket;

  private constructor(
    private readonly clientId: string,
    readonly address: string,
  ) {}

  static connect(host: string, port: number, clientId: string, timeoutMs: number): Promise<KafkaConnection> {
    const connection = new KafkaConnection(clientId, `${host}:${port}`);
    const reader = new FrameReader((frame) => connection.onFrame(frame));
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host,
        port,
        noDelay: true,
        onread: { buffer: () => reader.nextBuffer(), callback: (n) => reader.onRead(n) },
      });
      connection.socket = socket;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`cannot connect to broker ${connection.address} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to broker ${connection.address}: ${err.message}`));
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        socket.on("error", (err) => connection.close(err));
        socket.on("close", () => connection.close());
        resolve(connection);
      });
    });
  }

  /** Sends one request; resolves with the response body (after the correlation id). */
  request(apiKey: number, apiVersion: number, body: Buffer): Promise<Buffer> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const correlationId = this.nextCorrelationId++;
    return new Promise((resolve, reject) => {
      this.pending.push({ correlationId, resolve, reject });
      this.socket.write(encodeRequestFrame(apiKey, apiVersion, correlationId, this.clientId, body));
    });
  }

  close(err: Error = new Error(`connection to broker ${this.address} closed`)): void {
    if (this.closedWith) return;
    this.closedWith = err;
    this.socket.destroy();
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  onFrame(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const waiting = this.pending.shift();
    if (!waiting || waiting.correlationId !== correlationId) {
      this.close(
        new Error(
          `broker ${this.address} answered correlation id ${correlationId}, expected ${waiting?.correlationId ?? "none"}`,
        ),
      );
      waiting?.reject(new Error(`broker ${this.address} answered out of order`));
      return;
    }
    waiting.resolve(frame.subarray(4));
  }
}

/** Kafka's framing (int32 size, then that many bytes), read in place. */
class FrameReader {
  private readonly head = Buffer.alloc(4);
  private headFilled = 0;
  private frame: Buffer | undefined;
  private filled = 0;

  constructor(private readonly onFrame: (frame: Buffer) => void) {}

  /** Where the next read goes: the rest of the size, or the rest of the frame. */
  nextBuffer(): Buffer {
    return this.frame ? this.frame.subarray(this.filled) : this.head.subarray(this.headFilled);
  }

  /** Always true: keep reading (backpressure is the one fetch in flight). */
  onRead(n: number): boolean {
    if (!this.frame) {
      this.headFilled += n;
      if (this.headFilled < 4) return true;
      this.headFilled = 0;
      this.frame = Buffer.allocUnsafe(this.head.readInt32BE(0));
      this.filled = 0;
    } else this.filled += n;
    if (this.filled === this.frame.length) {
      const frame = this.frame;
      this.frame = undefined;
      this.onFrame(frame);
    }
    return true;
  }
}
