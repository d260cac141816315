/**
 * CPU per record of routing keyed records over a remote stage's instances
 * (RoutingTable.route: hashKey of the key, then a rendezvous pick), against the
 * `hash % n` it replaced, in one process and one run (best of 5 rounds each).
 *
 *   tsx bench/rendezvous.ts [--instances N] [--records N]
 */
import { hashKey, makeRecord } from "../src/records";
import { Rendezvous } from "../sidecar/rendezvous";
import { RoutingTable, type StageRoute } from "../sidecar/routing-table";
import type { Record } from "../src/stages/contract";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const instances = arg("instances", 3);
const total = arg("records", 2_000_000);
const BATCH = 100;
const batches: Record[][] = [];
for (let b = 0; b < 100; b++)
  batches.push(
    Array.from({ length: BATCH }, (_, i) =>
      makeRecord({ key: Buffer.from(`customer-${b * BATCH + i}`), value: Buffer.from("{}") }),
    ),
  );
const stage: StageRoute = {
  pipeline: "p",
  index: 1,
  name: "t",
  kind: "transform",
  deadLetter: false,
  instances: Array.from({ length: instances }, (_, i) => ({
    sidecarId: `sidecar-${i}`,
    peerAddress: `127.0.1.${i}:9091`,
    serviceEndpoint: "",
    serviceName: "conveyor.v1.Transform",
    partitions: [],
    generation: 1,
  })),
};

/** The best of 5 runs after a warm-up (the machine is shared: the minimum is the least disturbed). */
function time(label: string, run: () => number): void {
  run();
  let best = Infinity;
  let sink = 0;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    sink = run();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / total);
  }
  console.log(`${label.padEnd(34)} ${best.toFixed(1).padStart(6)} ns/record  (${sink})`);
}

const table = new RoutingTable(1, 1, [{ name: "p", stages: [stage], settings: {} as never, generation: 1 }]);
const picker = new Rendezvous(stage.instances.map((i) => i.sidecarId));
console.log(`${instances} instances, ${total} keyed records in batches of ${BATCH}`);
time("hashKey only", () => {
  let s = 0;
  for (let n = 0; n < total; n++) s ^= hashKey(batches[((n / BATCH) % 100) | 0]![n % BATCH]!.key);
  return s;
});
time("hashKey % n (before)", () => {
  let s = 0;
  for (let n = 0; n < total; n++) s += hashKey(batches[((n / BATCH) % 100) | 0]![n % BATCH]!.key) % instances;
  return s;
});
time("hashKey + Rendezvous.pick", () => {
  let s = 0;
  for (let n = 0; n < total; n++)
    s += picker.pick(hashKey(batches[((n / BATCH) % 100) | 0]![n % BATCH]!.key));
  return s;
});
time("RoutingTable.route (rendezvous)", () => {
  let s = 0;
  for (let n = 0; n < total / BATCH; n++) s += table.route(stage, batches[n % 100]!).length;
  return s;
});
