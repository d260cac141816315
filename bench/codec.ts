/**
 * Codec micro-benchmark: a ForwardBatch of 100 × 1 KB records through
 * proto-loader's (de)serialiser, through protobufjs directly (the previous
 * fast codec), and through the hand-written codec of src/sdk/wire.ts, in the
 * same process and run; plus the wire codec's splice path (re-encoding records
 * it decoded, as a sidecar that only routes them does). `npx tsx bench/codec.ts`
 */
import * as path from "node:path";
import * as protobuf from "protobufjs";
import { PROTO_DIR, PROTO_FILES, v1 } from "../src/proto";
import { WIRE_CODECS } from "../src/sdk/wire";
import { generatorRecord } from "../src/sdk";

type Def = { requestSerialize(v: object): Buffer; requestDeserialize(b: Buffer): object };
const loader = (v1.DataPlane.service as unknown as { Forward: Def }).Forward;

const root = new protobuf.Root();
root.resolvePath = (_o, t) => (path.isAbsolute(t) ? t : path.join(PROTO_DIR, t));
root.loadSync(PROTO_FILES, { keepCase: false });
const type = root.lookupType("conveyor.v1.ForwardBatch");
const protobufjs: Def = {
  requestSerialize: (v) => type.encode(v).finish() as Buffer,
  requestDeserialize: (b) => type.decode(b),
};
const wire: Def = {
  requestSerialize: WIRE_CODECS.ForwardBatch.serialize,
  requestDeserialize: WIRE_CODECS.ForwardBatch.deserialize,
};

const batch = {
  batchId: 7,
  pipeline: "bench",
  stageIndex: 1,
  generation: 3,
  senderId: "a",
  records: Array.from({ length: 100 }, (_, i) => generatorRecord(i)),
};

function measure(name: string, def: Def, rounds: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) def.requestDeserialize(def.requestSerialize(batch));
  const ns = Number(process.hrtime.bigint() - started);
  const perRecord = ns / 1000 / (rounds * batch.records.length);
  console.log(`${name.padEnd(22)} ${perRecord.toFixed(2)} µs per record (encode + decode)`);
  return perRecord;
}

/** decode → encode of the decoded message: what a routing sidecar does per hop. */
function measureRelay(name: string, def: Def, rounds: number): number {
  let bytes = def.requestSerialize(batch);
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) bytes = def.requestSerialize(def.requestDeserialize(bytes));
  const ns = Number(process.hrtime.bigint() - started);
  const perRecord = ns / 1000 / (rounds * batch.records.length);
  console.log(`${name.padEnd(22)} ${perRecord.toFixed(2)} µs per record (decode + re-encode)`);
  return perRecord;
}

for (const def of [loader, protobufjs, wire]) {
  measure("warm-up", def, 300);
  measureRelay("warm-up", def, 300);
}
const a = measure("proto-loader", loader, 3000);
const b = measure("protobufjs", protobufjs, 3000);
const c = measure("wire", wire, 3000);
const ra = measureRelay("proto-loader relay", loader, 3000);
const rb = measureRelay("protobufjs relay", protobufjs, 3000);
const rc = measureRelay("wire relay (splice)", wire, 3000);
console.log(`encode+decode: protobufjs ${(b / a).toFixed(2)}×, wire ${(c / a).toFixed(2)}× proto-loader`);
console.log(`relay: protobufjs ${(rb / ra).toFixed(2)}×, wire ${(rc / ra).toFixed(2)}× proto-loader`);
