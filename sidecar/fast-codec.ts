/**
 * Codecs for the sidecar's hot streams (Source.Read, Transform.Process,
 * Sink.Write, DataPlane.Forward) that skip @grpc/proto-loader's extra passes.
 *
 * proto-loader serialises with `encode(fromObject(obj))` and deserialises
 * with `toObject(decode(buf), options)`: two full copies of every record per
 * hop, which the benchmark profile showed as a large share of sidecar CPU
 * (docs/benchmarks.md). Every message that carries records uses the
 * hand-written codecs of src/sdk/wire.ts (shared with the SDK stage servers),
 * in their routing variant: a record the sidecar receives is checked and kept
 * as its encoded bytes (an EncodedRecord, fields decoded only if something
 * reads them) and written to the next hop by copying those bytes.
 * ReadRequest (small, rare) uses protobufjs.
 */
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protobuf from "protobufjs";
import { PROTO_DIR, PROTO_FILES, v1 } from "../src/proto";
import { ConveyorError } from "../src/errors";
import { createLogger } from "../src/telemetry/log";
import { metrics } from "../src/telemetry/metrics";
import { ROUTING_CODECS, withCodecs } from "../src/sdk/wire";

const log = createLogger("codec");

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_DIR, target));
root.loadSync(PROTO_FILES, { keepCase: false });

interface Codec {
  serialize(value: object): Buffer;
  deserialize(bytes: Buffer): object;
}

/** Counts and logs a message that does not decode, and turns it into PROTOCOL_VIOLATION. */
function checked(typeName: string, decode: (bytes: Buffer) => object): (bytes: Buffer) => object {
  return (bytes) => {
    try {
      return decode(bytes);
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
  };
}

/** protobufjs directly (no toObject pass); `fix` turns the decoded message's Long fields into numbers. */
function protobufCodec(typeName: string, fix: (m: Record<string, unknown>) => void): Codec {
  const type = root.lookupType(`conveyor.v1.${typeName}`);
  return {
    // protobufjs's writer already returns a Buffer in Node: no second copy.
    serialize: (value) => type.encode(value).finish() as Buffer,
    deserialize: checked(typeName, (bytes) => {
      const m = type.decode(bytes) as unknown as Record<string, unknown>;
      fix(m);
      return m;
    }),
  };
}

/** The hand-written codecs of src/sdk/wire.ts: records pass through as their encoded bytes. */
function wireCodec(typeName: keyof typeof ROUTING_CODECS): Codec {
  const c = ROUTING_CODECS[typeName];
  return { serialize: c.serialize, deserialize: checked(typeName, c.deserialize) };
}

const CODECS = {
  ReadRequest: protobufCodec("ReadRequest", () => undefined),
  ReadResponse: wireCodec("ReadResponse"),
  ProcessRequest: wireCodec("ProcessRequest"),
  ProcessResponse: wireCodec("ProcessResponse"),
  WriteRequest: wireCodec("WriteRequest"),
  WriteResponse: wireCodec("WriteResponse"),
  ForwardBatch: wireCodec("ForwardBatch"),
  ForwardAck: wireCodec("ForwardAck"),
};

/** A copy of `service` whose listed methods use the fast codecs (request type, response type). */
function withFastCodecs(
  service: grpc.ServiceDefinition,
  methods: { [method: string]: [keyof typeof CODECS, keyof typeof CODECS] },
): grpc.ServiceDefinition {
  const m: { [method: string]: [Codec, Codec] } = {};
  for (const [method, [req, res]] of Object.entries(methods)) m[method] = [CODECS[req], CODECS[res]];
  return withCodecs(service, m);
}

export const fastServices = {
  source: withFastCodecs(v1.Source.service, { Read: ["ReadRequest", "ReadResponse"] }),
  transform: withFastCodecs(v1.Transform.service, { Process: ["ProcessRequest", "ProcessResponse"] }),
  sink: withFastCodecs(v1.Sink.service, { Write: ["WriteRequest", "WriteResponse"] }),
  dataPlane: withFastCodecs(v1.DataPlane.service, { Forward: ["ForwardBatch", "ForwardAck"] }),
};

/** Client constructors over the fast service definitions (same method names as the generated clients). */
export const FastClients = {
  Source: grpc.makeGenericClientConstructor(fastServices.source, "Source"),
  Transform: grpc.makeGenericClientConstructor(fastServices.transform, "Transform"),
  Sink: grpc.makeGenericClientConstructor(fastServices.sink, "Sink"),
  DataPlane: grpc.makeGenericClientConstructor(fastServices.dataPlane, "DataPlane"),
};
