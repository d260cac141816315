import { hashKey } from "../src/records";
import { Rendezvous, mix32, seedOf, weight } from "./rendezvous";

const keys = (n: number, prefix = "key-"): number[] =>
  Array.from({ length: n }, (_, i) => hashKey(Buffer.from(`${prefix}${i}`)));

/** The winning id of each key hash. */
function owners(ids: string[], hashes: number[]): string[] {
  const r = new Rendezvous(ids);
  return hashes.map((h) => ids[r.pick(h)]!);
}

describe("rendezvous hashing", () => {
  it("mixes: the finalizer and the seeds are deterministic and spread", () => {
    expect(mix32(0)).toBe(0);
    expect(mix32(1)).toBe(mix32(1));
    expect(mix32(1)).not.toBe(mix32(2));
    expect(seedOf("sidecar-a")).toBe(seedOf("sidecar-a"));
    expect(new Set(["a", "b", "c", "d", "e"].map(seedOf)).size).toBe(5);
    expect(weight(7, seedOf("a"))).toBe(weight(7, seedOf("a")));
  });

  it("is deterministic: two pickers over the same ids agree on every key", () => {
    const hashes = keys(2000);
    expect(owners(["a", "b", "c"], hashes)).toEqual(owners(["a", "b", "c"], hashes));
  });

  it("picks the same instance for a key whatever the order of the instances", () => {
    const hashes = keys(5000);
    const ids = ["pod-a", "pod-b", "pod-c", "pod-d"];
    const expected = owners(ids, hashes);
    for (const order of [
      ["pod-d", "pod-c", "pod-b", "pod-a"],
      ["pod-b", "pod-d", "pod-a", "pod-c"],
      ["pod-c", "pod-a", "pod-d", "pod-b"],
    ])
      expect(owners(order, hashes)).toEqual(expected);
  });

  it("moves about 1/4 of the keys when a fourth instance joins three, all of them to the new one", () => {
    const hashes = keys(10_000);
    const before = owners(["a", "b", "c"], hashes);
    const after = owners(["a", "b", "c", "d"], hashes);
    let moved = 0;
    for (let i = 0; i < hashes.length; i++) {
      if (before[i] === after[i]) continue;
      moved++;
      // No key moves between two instances that both stayed.
      expect(after[i]).toBe("d");
    }
    const fraction = moved / hashes.length;
    expect(fraction).toBeGreaterThan(0.2);
    expect(fraction).toBeLessThan(0.3);
  });

  it("moves only the keys of the instance that left when one of four leaves", () => {
    const hashes = keys(10_000);
    const before = owners(["a", "b", "c", "d"], hashes);
    const after = owners(["a", "b", "d"], hashes);
    let moved = 0;
    for (let i = 0; i < hashes.length; i++) {
      if (before[i] === "c") expect(after[i]).not.toBe("c");
      else expect(after[i]).toBe(before[i]);
      if (before[i] !== after[i]) moved++;
    }
    expect(moved).toBe(before.filter((o) => o === "c").length);
  });

  it.each([2, 3, 5, 8])("balances 100,000 keys over %i instances to 1/N ± 10%%", (n) => {
    const ids = Array.from({ length: n }, (_, i) => `sidecar-${i}`);
    const counts = new Map<string, number>();
    for (const o of owners(ids, keys(100_000, "user:"))) counts.set(o, (counts.get(o) ?? 0) + 1);
    expect(counts.size).toBe(n);
    const fair = 100_000 / n;
    for (const c of counts.values()) {
      expect(c).toBeGreaterThan(fair * 0.9);
      expect(c).toBeLessThan(fair * 1.1);
    }
  });

  it("spreads sequential and similar keys, not only random-looking ones", () => {
    const hashes = Array.from({ length: 30_000 }, (_, i) => hashKey(Buffer.from(String(i))));
    const counts = [0, 0, 0];
    const r = new Rendezvous(["x", "y", "z"]);
    for (const h of hashes) counts[r.pick(h)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(1000);
  });
});
