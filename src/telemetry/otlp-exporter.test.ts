import { execFile } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { promisify } from "node:util";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { otlpSpanExporter } from "./otlp-exporter";

/**
 * Exports one span named "one" in a child process (the OTLP/HTTP exporters import lazily, which jest's
 * module loader refuses) and resolves with the export's result code (0: success).
 */
async function exportOne(protocol: "http/protobuf" | "http/json", url: string): Promise<number> {
  const script = `
    const { BasicTracerProvider } = require("@opentelemetry/sdk-trace-base");
    const { otlpSpanExporter } = require(${JSON.stringify(path.join(__dirname, "otlp-exporter"))});
    const exporter = otlpSpanExporter({ protocol: process.argv[1], url: process.argv[2] }, 5000);
    const span = new BasicTracerProvider().getTracer("test").startSpan("one");
    span.end();
    exporter.export([span], (r) => { process.stdout.write(String(r.code)); exporter.shutdown(); });`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["-r", "tsx/cjs", "-e", script, protocol, url],
    { timeout: 15_000 },
  );
  return Number(stdout);
}

describe("otlpSpanExporter", () => {
  let server: http.Server;
  let url = "";
  const received: Array<{ path: string; contentType: string; body: Buffer }> = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({
          path: req.url ?? "",
          contentType: req.headers["content-type"] ?? "",
          body: Buffer.concat(chunks),
        });
        res.writeHead(200, { "Content-Type": req.headers["content-type"] ?? "" }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("sends http/protobuf as protobuf and http/json as JSON, to the URL given", async () => {
    expect(await exportOne("http/protobuf", url)).toBe(0);
    expect(await exportOne("http/json", url)).toBe(0);
    expect(received.map((r) => [r.path, r.contentType])).toEqual([
      ["/v1/traces", "application/x-protobuf"],
      ["/v1/traces", "application/json"],
    ]);
    // The protobuf body holds the span's name as a length-delimited string; the JSON one is JSON.
    expect(received[0]!.body.includes(Buffer.from("one"))).toBe(true);
    expect(() => JSON.parse(received[0]!.body.toString("utf8")) as unknown).toThrow();
    expect(JSON.stringify(JSON.parse(received[1]!.body.toString("utf8")))).toContain('"name":"one"');
  });

  it("makes a gRPC exporter for grpc", () => {
    const exporter = otlpSpanExporter({ protocol: "grpc", url: "http://127.0.0.1:1" }, 1000);
    expect(exporter.constructor).toBe(GrpcExporter);
    return exporter.shutdown();
  });
});
