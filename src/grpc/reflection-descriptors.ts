/**
 * Descriptors for server reflection that strict clients accept.
 *
 * protobufjs (behind @grpc/proto-loader and @grpc/reflection) names the
 * implicit entry message of `map<k,v> headers` "Headers" instead of
 * "HeadersEntry", and grpcurl (Go protobuf) rejects the whole file: "is an
 * invalid map: incorrect implicit map entry name" (grpcurl issue #519). We
 * load the protos with keepCase (so reflection shows the .proto's field
 * names) and rename every map entry to protobuf's rule before serving.
 */
import * as protoLoader from "@grpc/proto-loader";
import * as descriptor from "protobufjs/ext/descriptor";

interface FieldDescriptor {
  name: string;
  typeName?: string;
}
interface MessageDescriptor {
  name: string;
  field?: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
  options?: { mapEntry?: boolean };
}
interface FileDescriptor {
  messageType?: MessageDescriptor[];
}
interface Codec {
  decode(b: Uint8Array): unknown;
  encode(m: unknown): { finish(): Uint8Array };
  fromObject(o: unknown): unknown;
  toObject(m: unknown): unknown;
}
const FileDescriptorProto = (descriptor as unknown as { FileDescriptorProto: Codec }).FileDescriptorProto;

/** protobuf's MapEntryName: "event_time" → "EventTimeEntry". */
export function mapEntryName(fieldName: string): string {
  let out = "";
  let upper = true;
  for (const c of fieldName) {
    if (c === "_") {
      upper = true;
      continue;
    }
    out += upper ? c.toUpperCase() : c;
    upper = false;
  }
  return `${out}Entry`;
}

function fixMessage(m: MessageDescriptor): void {
  for (const nested of m.nestedType ?? []) fixMessage(nested);
  for (const field of m.field ?? []) {
    const entry = (m.nestedType ?? []).find(
      (n) => n.options?.mapEntry && field.typeName?.split(".").pop() === n.name,
    );
    if (!entry) continue;
    const wanted = mapEntryName(field.name);
    if (entry.name === wanted) continue;
    const prefix = field.typeName!.slice(0, field.typeName!.length - entry.name.length);
    entry.name = wanted;
    field.typeName = prefix + wanted;
  }
}

export function fixFileDescriptor(bytes: Buffer): Buffer {
  const file = FileDescriptorProto.toObject(FileDescriptorProto.decode(bytes)) as FileDescriptor;
  for (const m of file.messageType ?? []) fixMessage(m);
  return Buffer.from(FileDescriptorProto.encode(FileDescriptorProto.fromObject(file)).finish());
}

/** A copy of `def` whose file descriptors have correct map entry names. */
export function withFixedMapEntries(def: protoLoader.PackageDefinition): protoLoader.PackageDefinition {
  const fixed = new Map<Buffer, Buffer>();
  const fix = (b: Buffer): Buffer => {
    let f = fixed.get(b);
    if (!f) {
      f = fixFileDescriptor(b);
      fixed.set(b, f);
    }
    return f;
  };
  const out: protoLoader.PackageDefinition = {};
  for (const [name, d] of Object.entries(def)) {
    const files = (d as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
    out[name] = files ? ({ ...d, fileDescriptorProtos: files.map(fix) } as typeof d) : d;
  }
  return out;
}
