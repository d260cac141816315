/**
 * Codecs for the sidecar's hot streams (Source.Read, Transform.Process,
 * Sink.Write, DataPlane.Forward) that skip @grpc/proto-loader's extra passes.
 *
 * proto-loader serialises with `encode(fromObject(obj))` and deserialises
 * with `toObject(decode(buf), options)`: two full copies of every record per
 * hop, which the benchmark profile showed as a large share of sidecar CPU
 * (docs/benchmarks.md). protobufjs encodes plain objects directly, and its
 * decoded messages already have the shape of the generated `__Output` types,
 * except 64-bit integers, which arrive as Long and are converted here.
 */
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protobuf from "protobufjs";
import { PROTO_DIR, PROTO_FILES, v1 } from "../src/proto";
import { ConveyorError } from "../src/errors";
import { createLogger } from "../src/telemetry/log";
import { metrics } from "../src/telemetry/metrics";

const log = createLogger("codec");

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_DIR, target));
root.loadSync(PROTO_FILES, { keepCase: false });

type LongLike = number | { toNumber(): number };
const toNumber = (v: LongLike): number => (typeof v === "number" ? v : v.toNumber());

interface RecordLike {
  eventTimeMs: LongLike;
}
function fixRecords(records: RecordLike[]): void {
  for (const r of records) r.eventTimeMs = toNumber(r.eventTimeMs);
}

interface Codec {
  serialize(value: object): Buffer;
  deserialize(bytes: Buffer): object;
}

/** `fix` turns the decoded message's Long fields into numbers, in place. */
function codec(typeName: string, fix: (m: Record<string, unknown>) => void): Codec {
  const type = root.lookupType(`conveyor.v1.${typeName}`);
  return {
    serialize: (value) => Buffer.from(type.encode(value).finish()),
    deserialize: (bytes) => {
      let m: Record<string, unknown>;
      try {
        m = type.decode(bytes) as unknown as Record<string, unknown>;
      } catch (err) {
        // grpc-js turns this into an INTERNAL status for the peer; count it here, where the bytes are known bad.
        metrics.malformedMessages.labels(typeName).inc();
        log.warn(
          { message: typeName, bytes: bytes.length, err: (err as Error).message },
          "malformed protobuf message",
        );
        throw new ConveyorError(
          "PROTOCOL_VIOLATION",
          `malformed ${typeName} (${bytes.length} bytes): ${(err as Error).message}`,
        );
      }
      fix(m);
      return m;
    },
  };
}

const withBatchId = (m: Record<string, unknown>): void => {
  m.batchId = toNumber(m.batchId as LongLike);
};

const CODECS = {
  ReadRequest: codec("ReadRequest", () => undefined),
  ReadResponse: codec("ReadResponse", (m) => fixRecords(m.records as RecordLike[])),
  ProcessRequest: codec("ProcessRequest", (m) => {
    withBatchId(m);
    fixRecords(m.records as RecordLike[]);
  }),
  ProcessResponse: codec("ProcessResponse", (m) => {
    withBatchId(m);
    for (const r of m.results as Array<{ records: RecordLike[] }>) fixRecords(r.records);
  }),
  WriteRequest: codec("WriteRequest", (m) => {
    withBatchId(m);
    fixRecords(m.records as RecordLike[]);
  }),
  WriteResponse: codec("WriteResponse", withBatchId),
  ForwardBatch: codec("ForwardBatch", (m) => {
    withBatchId(m);
    m.generation = toNumber(m.generation as LongLike);
    fixRecords(m.records as RecordLike[]);
  }),
  ForwardAck: codec("ForwardAck", withBatchId),
};

/** A copy of `service` whose listed methods use the fast codecs (request type, response type). */
function withCodecs(
  service: grpc.ServiceDefinition,
  methods: { [method: string]: [keyof typeof CODECS, keyof typeof CODECS] },
): grpc.ServiceDefinition {
  const out: { [method: string]: grpc.MethodDefinition<object, object> } = { ...service };
  for (const [method, [req, res]] of Object.entries(methods)) {
    const def = service[method];
    if (!def) throw new Error(`fast-codec: ${method} is not a method of the service`);
    out[method] = {
      ...def,
      requestSerialize: CODECS[req].serialize,
      requestDeserialize: CODECS[req].deserialize,
      responseSerialize: CODECS[res].serialize,
      responseDeserialize: CODECS[res].deserialize,
    };
  }
  return out as grpc.ServiceDefinition;
}

export const fastServices = {
  source: withCodecs(v1.Source.service, { Read: ["ReadRequest", "ReadResponse"] }),
  transform: withCodecs(v1.Transform.service, { Process: ["ProcessRequest", "ProcessResponse"] }),
  sink: withCodecs(v1.Sink.service, { Write: ["WriteRequest", "WriteResponse"] }),
  dataPlane: withCodecs(v1.DataPlane.service, { Forward: ["ForwardBatch", "ForwardAck"] }),
};

/** Client constructors over the fast service definitions (same method names as the generated clients). */
export const FastClients = {
  Source: grpc.makeGenericClientConstructor(fastServices.source, "Source"),
  Transform: grpc.makeGenericClientConstructor(fastServices.transform, "Transform"),
  Sink: grpc.makeGenericClientConstructor(fastServices.sink, "Sink"),
  DataPlane: grpc.makeGenericClientConstructor(fastServices.dataPlane, "DataPlane"),
};
