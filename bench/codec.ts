/**
 * Codec micro-benchmark: a ForwardBatch of 100 × 1 KB records through
 * proto-loader's (de)serialiser and through sidecar/fast-codec.ts, in the
 * same process and run. `npx tsx bench/codec.ts`
 */
import { v1 } from "../src/proto";
import { fastServices } from "../sidecar/fast-codec";
import { generatorRecord } from "../src/sdk";

type Def = { requestSerialize(v: object): Buffer; requestDeserialize(b: Buffer): object };
const loader = (v1.DataPlane.service as unknown as { Forward: Def }).Forward;
const fast = (fastServices.dataPlane as unknown as { Forward: Def }).Forward;

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
  console.log(`${name.padEnd(12)} ${perRecord.toFixed(2)} µs per record (encode + decode)`);
  return perRecord;
}

for (const def of [loader, fast]) measure("warm-up", def, 500);
const a = measure("proto-loader", loader, 3000);
const b = measure("fast-codec", fast, 3000);
console.log(`fast-codec costs ${(b / a).toFixed(2)}× proto-loader`);
