/**
 * A grpc-js package definition built straight from protobufjs, without the
 * descriptors @grpc/proto-loader computes for every message and method.
 *
 * Why it exists: `protoLoader.loadSync` converts every message to a
 * `DescriptorProto` (`toDescriptor`, twice per method) and encodes the whole
 * file set, which only server reflection reads. That was ~120 ms of a sidecar's
 * start on this machine (docs/benchmarks.md, "Start-up"); reflection loads its
 * own definition on the first reflection call instead (src/grpc/reflection.ts).
 * Serialisation is proto-loader's exactly (`fromObject` → `encode`, `decode` →
 * `toObject(options)`), checked against it for every method of the contract in
 * package-definition.test.ts; message definitions compute their descriptor
 * fields only when read.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as grpc from "@grpc/grpc-js";
import type * as protoLoader from "@grpc/proto-loader";
import * as protobuf from "protobufjs";

export interface LoadOptions extends protobuf.IConversionOptions {
  keepCase?: boolean;
  includeDirs: string[];
}

/** Loads and resolves `files` (relative to `includeDirs`, or absolute). */
export function loadRoot(files: string[], options: LoadOptions): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of options.includeDirs) {
      const full = path.join(dir, target);
      if (fs.existsSync(full)) return full;
    }
    throw new Error(`${target} not found in the include paths ${options.includeDirs.join(", ")}`);
  };
  root.loadSync(files, { keepCase: options.keepCase ?? false });
  root.resolveAll();
  return root;
}

/** `grpc.loadPackageDefinition`'s input for every service, message and enum under `root`. */
export function packageDefinitionOf(
  root: protobuf.Root,
  options: protobuf.IConversionOptions,
): protoLoader.PackageDefinition {
  const def: protoLoader.PackageDefinition = {};
  const messages = new Map<protobuf.Type, protoLoader.MessageTypeDefinition<object, object>>();
  const messageDef = (type: protobuf.Type): protoLoader.MessageTypeDefinition<object, object> => {
    let m = messages.get(type);
    if (!m) {
      m = lazyMessageDefinition(type, options, root);
      messages.set(type, m);
    }
    return m;
  };
  for (const [name, obj] of handledObjects(root, "")) {
    if (obj instanceof protobuf.Service) {
      const service: Record<string, protoLoader.MethodDefinition<object, object>> = {};
      for (const method of obj.methodsArray) {
        const req = method.resolvedRequestType as protobuf.Type;
        const res = method.resolvedResponseType as protobuf.Type;
        service[method.name] = {
          path: `/${name}/${method.name}`,
          requestStream: !!method.requestStream,
          responseStream: !!method.responseStream,
          requestSerialize: serializer(req),
          requestDeserialize: deserializer(req, options),
          responseSerialize: serializer(res),
          responseDeserialize: deserializer(res, options),
          originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
          requestType: messageDef(req),
          responseType: messageDef(res),
          options: methodOptions(method.parsedOptions as Array<Record<string, unknown>> | undefined),
        };
      }
      def[name] = service as protoLoader.ServiceDefinition;
    } else if (obj instanceof protobuf.Type) {
      def[name] = messageDef(obj);
    } else {
      def[name] = lazyEnumDefinition(obj, root);
    }
  }
  return def;
}

/** proto-loader's mapMethodOptions. */
function methodOptions(
  parsed: Array<Record<string, unknown>> = [],
): protoLoader.MethodDefinition<object, object>["options"] {
  const out: Record<string, unknown> & { uninterpreted_option: unknown[] } = {
    deprecated: false,
    idempotency_level: "IDEMPOTENCY_UNKNOWN",
    uninterpreted_option: [],
  };
  for (const item of parsed) {
    for (const [key, value] of Object.entries(item)) {
      if (key === "uninterpreted_option") out.uninterpreted_option.push(value);
      else out[key] = value;
    }
  }
  return out as unknown as protoLoader.MethodDefinition<object, object>["options"];
}

function handledObjects(
  obj: protobuf.ReflectionObject,
  parent: string,
): Array<[string, protobuf.Service | protobuf.Type | protobuf.Enum]> {
  const name = parent === "" ? obj.name : `${parent}.${obj.name}`;
  if (obj instanceof protobuf.Service || obj instanceof protobuf.Type || obj instanceof protobuf.Enum) {
    return [[name, obj]];
  }
  if (obj instanceof protobuf.Namespace && obj.nested) {
    return Object.values(obj.nested).flatMap((child) => handledObjects(child, name));
  }
  return [];
}

function serializer(type: protobuf.Type): grpc.serialize<object> {
  return (value) => {
    if (Array.isArray(value)) {
      throw new Error(
        `Failed to serialize message: expected object with ${type.name} structure, got array instead`,
      );
    }
    return Buffer.from(type.encode(type.fromObject(value)).finish());
  };
}

function deserializer(type: protobuf.Type, options: protobuf.IConversionOptions): grpc.deserialize<object> {
  return (buf) => type.toObject(type.decode(buf), options);
}

// Descriptor fields, as proto-loader fills them, computed on first read: only reflection-style
// consumers (none on the data path) read them.
const DESCRIPTOR_OPTIONS: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: String,
  defaults: true,
  oneofs: true,
  json: true,
};

function lazyMessageDefinition(
  type: protobuf.Type,
  options: protobuf.IConversionOptions,
  root: protobuf.Root,
): protoLoader.MessageTypeDefinition<object, object> {
  const files = fileDescriptorsOf(root);
  return withLazyDescriptor(
    {
      format: "Protocol Buffer 3 DescriptorProto",
      serialize: serializer(type),
      deserialize: deserializer(type, options),
    },
    type,
    files,
  ) as protoLoader.MessageTypeDefinition<object, object>;
}

function lazyEnumDefinition(type: protobuf.Enum, root: protobuf.Root): protoLoader.EnumTypeDefinition {
  return withLazyDescriptor(
    { format: "Protocol Buffer 3 EnumDescriptorProto" },
    type,
    fileDescriptorsOf(root),
  ) as protoLoader.EnumTypeDefinition;
}

interface Describable {
  toDescriptor(syntax: string): protobuf.Message & { $type: protobuf.Type };
}

function withLazyDescriptor(
  target: object,
  type: protobuf.Type | protobuf.Enum,
  files: () => Buffer[],
): object {
  let described: object | undefined;
  return Object.defineProperties(target, {
    type: {
      enumerable: true,
      get() {
        if (!described) {
          loadDescriptorExtension();
          const d = (type as unknown as Describable).toDescriptor("proto3");
          described = d.$type.toObject(d, DESCRIPTOR_OPTIONS);
        }
        return described;
      },
    },
    fileDescriptorProtos: { enumerable: true, get: files },
  });
}

const filesByRoot = new WeakMap<protobuf.Root, () => Buffer[]>();
function fileDescriptorsOf(root: protobuf.Root): () => Buffer[] {
  let f = filesByRoot.get(root);
  if (!f) {
    f = () => {
      loadDescriptorExtension();
      const d = (root as unknown as Describable).toDescriptor("proto3") as unknown as {
        file: protobuf.Message[];
      };
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const ext = require("protobufjs/ext/descriptor") as { FileDescriptorProto: protobuf.Type };
      return d.file.map((file) => Buffer.from(ext.FileDescriptorProto.encode(file).finish()));
    };
    const compute = f;
    let cached: Buffer[] | undefined;
    f = () => (cached ??= compute());
    filesByRoot.set(root, f);
  }
  return f;
}

/** `toDescriptor` is added to protobufjs' classes by its descriptor extension. */
function loadDescriptorExtension(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("protobufjs/ext/descriptor");
}
