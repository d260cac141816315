/**
 * A do-nothing OTLP/HTTP receiver for the traced bench variants: it reads every `POST /v1/traces` to
 * the end, counts requests and bytes, and answers 200 with an empty ExportTraceServiceResponse (an empty
 * protobuf body). It runs in the bench's own process, so its CPU is not in the pipeline's figures: what
 * the traced variants measure is what tracing costs the sidecars (spans, batching, protobuf encoding,
 * HTTP), not what a receiver costs to index them. Jaeger would add its own load to the 2 cores and,
 * at 100 % sampling, fall behind.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface OtlpSink {
  /** http://host:port, for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  readonly endpoint: string;
  readonly requests: number;
  readonly bytes: number;
  close(): Promise<void>;
}

export async function startOtlpSink(host: string): Promise<OtlpSink> {
  let requests = 0;
  let bytes = 0;
  const server = http.createServer((req, res) => {
    req.on("data", (c: Buffer) => (bytes += c.length));
    req.on("end", () => {
      requests++;
      res.writeHead(200, { "Content-Type": "application/x-protobuf" }).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    get requests() {
      return requests;
    },
    get bytes() {
      return bytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
