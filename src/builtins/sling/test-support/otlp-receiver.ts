/**
 * An OTLP/HTTP trace receiver for tests: a tiny HTTP server that accepts `POST /v1/traces` with the
 * protobuf encoding (`application/x-protobuf`, what @opentelemetry/exporter-trace-otlp-proto sends) or
 * the JSON one (exporter-trace-otlp-http) and keeps the spans, flattened. Tests run
 * the CLI as a child process pointed at it, since tracing is best checked end to end across processes.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import * as protobuf from "protobufjs";

export type AttributeValue = string | number | boolean;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: { [key: string]: AttributeValue };
  events: Array<{ name: string; attributes: { [key: string]: AttributeValue } }>;
  /** 0 unset, 1 ok, 2 error (OTLP StatusCode). */
  statusCode: number;
  resource: { [key: string]: AttributeValue };
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: OtlpKeyValue[];
  events?: Array<{ name: string; attributes?: OtlpKeyValue[] }>;
  status?: { code?: number };
}
interface OtlpRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: Array<{ spans?: OtlpSpan[] }>;
  }>;
}

function value(v: OtlpAnyValue): AttributeValue {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue); // int64 arrives as a string in JSON
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return "";
}

function attributes(list: OtlpKeyValue[] | undefined): { [key: string]: AttributeValue } {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
}

let requestType: protobuf.Type | undefined;

/** A protobuf ExportTraceServiceRequest in the JSON encoding's shape (ids in hex, int64 as strings). */
function decodeProtobuf(body: Buffer): OtlpRequest {
  requestType ??= protobuf
    .loadSync(path.join(__dirname, "otlp-trace-service.proto"))
    .lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");
  const hex = (b64: unknown): string => Buffer.from(String(b64 ?? ""), "base64").toString("hex");
  const request = requestType.toObject(requestType.decode(body), {
    longs: String,
    bytes: String,
  }) as OtlpRequest;
  for (const rs of request.resourceSpans ?? [])
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? []) {
        s.traceId = hex(s.traceId);
        s.spanId = hex(s.spanId);
        s.parentSpanId = hex(s.parentSpanId);
      }
  return request;
}

export interface OtlpReceiver {
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Content types of the requests received (to know what the exporter sent). */
  readonly contentTypes: string[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(host = "127.0.0.1"): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      const contentType = req.headers["content-type"] ?? "";
      contentTypes.push(contentType);
      try {
        const raw = Buffer.concat(chunks);
        const protobufBody = contentType === "application/x-protobuf";
        const body = protobufBody ? decodeProtobuf(raw) : (JSON.parse(raw.toString("utf8")) as OtlpRequest);
        for (const rs of body.resourceSpans ?? []) {
          const resource = attributes(rs.resource?.attributes);
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? "",
                name: s.name,
                attributes: attributes(s.attributes),
                events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributes(e.attributes) })),
                statusCode: s.status?.code ?? 0,
                resource,
              });
            }
          }
        }
        // An empty ExportTraceServiceResponse in either encoding.
        if (protobufBody) res.writeHead(200, { "Content-Type": contentType }).end();
        else res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    spans,
    contentTypes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
