import * as protoLoader from "@grpc/proto-loader";
import * as protobuf from "protobufjs";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { loadRoot, packageDefinitionOf } from "./package-definition";
import { PROTO_DIR, PROTO_FILES, PROTO_LOADER_OPTIONS } from "../proto";

// The library this module replaces on the start-up path, with the same files and options.
const files = [...PROTO_FILES, healthProtoPath];
const expected = protoLoader.loadSync(files, PROTO_LOADER_OPTIONS);
const root = loadRoot(files, { includeDirs: [PROTO_DIR] });
const actual = packageDefinitionOf(root, PROTO_LOADER_OPTIONS);

type Method = protoLoader.MethodDefinition<object, object>;

/** A message with every field set (one level of nesting), so both codecs see every field kind. */
function sample(type: protobuf.Type, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = (): unknown => {
      const t = field.resolvedType;
      if (t instanceof protobuf.Type) return depth < 2 ? sample(t, depth + 1) : {};
      if (t instanceof protobuf.Enum) return Object.keys(t.values).at(-1);
      switch (field.type) {
        case "string":
          return `s-${field.name}`;
        case "bytes":
          return Buffer.from(field.name);
        case "bool":
          return true;
        case "double":
        case "float":
          return 1.5;
        default:
          return field.id + 7;
      }
    };
    if (field instanceof protobuf.MapField) out[field.name] = { k1: value(), k2: value() };
    else if (field.repeated) out[field.name] = [value(), value()];
    else out[field.name] = value();
  }
  return out;
}

describe("packageDefinitionOf (checked against @grpc/proto-loader's loadSync)", () => {
  it("defines the same services, messages and enums", () => {
    expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  });

  const services = Object.entries(expected).filter(([, d]) => !("format" in d));
  it.each(services.map(([name]) => name))("service %s: same methods, paths, flags and options", (name) => {
    const want = expected[name] as unknown as Record<string, Method>;
    const got = actual[name] as unknown as Record<string, Method>;
    expect(Object.keys(got)).toEqual(Object.keys(want));
    for (const [m, w] of Object.entries(want)) {
      const g = got[m];
      expect({ ...g, fns: undefined }).toMatchObject({
        path: w.path,
        requestStream: w.requestStream,
        responseStream: w.responseStream,
        originalName: w.originalName,
        options: w.options,
      });
    }
  });

  it.each(services.map(([name]) => name))("service %s: byte-identical serialisation both ways", (name) => {
    const want = expected[name] as unknown as Record<string, Method>;
    const got = actual[name] as unknown as Record<string, Method>;
    for (const [m, w] of Object.entries(want)) {
      const service = root.lookupService(name);
      const method = service.methods[m];
      for (const [typeName, ser, gotSer, de, gotDe] of [
        [
          method.requestType,
          w.requestSerialize,
          got[m].requestSerialize,
          w.requestDeserialize,
          got[m].requestDeserialize,
        ],
        [
          method.responseType,
          w.responseSerialize,
          got[m].responseSerialize,
          w.responseDeserialize,
          got[m].responseDeserialize,
        ],
      ] as const) {
        const type = service.lookupType(typeName);
        const message = sample(type);
        const bytes = ser(message);
        if (type.fieldsArray.length > 0) expect(bytes.length).toBeGreaterThan(0);
        expect(Buffer.from(gotSer(message))).toEqual(Buffer.from(bytes));
        expect(gotDe(bytes)).toEqual(de(bytes));
      }
    }
  });

  it("computes message descriptors on demand, equal to proto-loader's", () => {
    const name = "conveyor.v1.ForwardBatch";
    const want = expected[name] as protoLoader.MessageTypeDefinition<object, object>;
    const got = actual[name] as protoLoader.MessageTypeDefinition<object, object>;
    expect(got.type).toEqual(want.type);
    expect(got.fileDescriptorProtos.map((b) => Buffer.from(b))).toEqual(
      want.fileDescriptorProtos.map((b) => Buffer.from(b)),
    );
  });

  it("refuses an array where a message belongs, as proto-loader does", () => {
    const ping = (actual["conveyor.v1.Router"] as unknown as Record<string, Method>).Heartbeat;
    expect(() => ping.requestSerialize([] as unknown as object)).toThrow(/got array instead/);
  });

  it("names a missing import", () => {
    expect(() => loadRoot(["nope/missing.proto"], { includeDirs: [PROTO_DIR] })).toThrow(
      /nope\/missing.proto not found in the include paths/,
    );
  });
});
