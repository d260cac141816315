/**
 * An OTLP/gRPC trace receiver for tests: a grpc-js server implementing
 * `opentelemetry.proto.collector.trace.v1.TraceService/Export` (what @opentelemetry/exporter-trace-otlp-grpc
 * and Go's otlptracegrpc send to a collector's port 4317), keeping the spans flattened as the OTLP/HTTP
 * receiver does. The proto beside it is the subset of opentelemetry-proto the receiver reads.
 */
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { AttributeValue, ReceivedSpan } from "./otlp-receiver";

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface Span {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer;
  name: string;
  attributes: KeyValue[];
  events: Array<{ name: string; attributes: KeyValue[] }>;
  status?: { code: number };
}
interface ExportRequest {
  resourceSpans: Array<{ resource?: { attributes: KeyValue[] }; scopeSpans: Array<{ spans: Span[] }> }>;
}

export interface OtlpGrpcReceiver {
  /** host:port, the form sling-sync-wrapper's OTEL_EXPORTER_OTLP_ENDPOINT takes. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Export calls received. */
  readonly requests: number;
  close(): Promise<void>;
}

function value(v: AnyValue | undefined): AttributeValue {
  if (v?.stringValue !== undefined) return v.stringValue;
  if (v?.intValue !== undefined) return Number(v.intValue);
  if (v?.doubleValue !== undefined) return v.doubleValue;
  if (v?.boolValue !== undefined) return v.boolValue;
  return "";
}

function attributes(list: KeyValue[] | undefined): { [key: string]: AttributeValue } {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
}

export async function startOtlpGrpcReceiver(host = "127.0.0.1"): Promise<OtlpGrpcReceiver> {
  const definition = protoLoader.loadSync(path.join(__dirname, "otlp-trace-service.proto"), {
    longs: String,
    defaults: true,
    oneofs: false,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    opentelemetry: {
      proto: { collector: { trace: { v1: { TraceService: grpc.ServiceClientConstructor } } } };
    };
  };
  const service = loaded.opentelemetry.proto.collector.trace.v1.TraceService.service;
  const spans: ReceivedSpan[] = [];
  let requests = 0;
  const server = new grpc.Server();
  server.addService(service, {
    Export(call: grpc.ServerUnaryCall<ExportRequest, object>, callback: grpc.sendUnaryData<object>) {
      requests++;
      for (const rs of call.request.resourceSpans) {
        const resource = attributes(rs.resource?.attributes);
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            spans.push({
              traceId: s.traceId.toString("hex"),
              spanId: s.spanId.toString("hex"),
              parentSpanId: s.parentSpanId.toString("hex"),
              name: s.name,
              attributes: attributes(s.attributes),
              events: s.events.map((e) => ({ name: e.name, attributes: attributes(e.attributes) })),
              statusCode: s.status?.code ?? 0,
              resource,
            });
          }
        }
      }
      callback(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    endpoint: `${host}:${port}`,
    spans,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}
