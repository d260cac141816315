import type { Record } from "../../stages/contract";
import { encodeBatch, sinkArgs } from "./sink";

const rec = (id: string, value: string): Record => ({
  id,
  key: Buffer.alloc(0),
  value: Buffer.from(value),
  headers: {},
  eventTimeMs: 0,
});

describe("sling sink", () => {
  it("appends (snapshot) by default and upserts (incremental) with a primary key", () => {
    expect(sinkArgs({ target: "COMMAND", object: "main.events" })).toEqual([
      "run",
      "--tgt-conn",
      "COMMAND",
      "--tgt-object",
      "main.events",
      "--src-options",
      '{"format":"jsonlines","flatten":true}',
      "-m",
      "snapshot",
    ]);
    expect(sinkArgs({ target: "PG", object: "public.e", primaryKey: ["id", "ts"] }).slice(-4)).toEqual([
      "-m",
      "incremental",
      "--primary-key",
      "id,ts",
    ]);
  });

  it("sends JSON objects as lines and fails every other value alone", () => {
    const batch = encodeBatch([
      rec("1", '{"a":1}'),
      rec("2", "not json"),
      rec("3", "[1]"),
      rec("4", '{"b":{"c":2}}'),
    ]);
    expect(batch.lines).toBe('{"a":1}\n{"b":{"c":2}}\n');
    expect(batch.rows).toBe(2);
    expect([...batch.invalid.keys()]).toEqual(["2", "3"]);
    expect(batch.invalid.get("3")).toMatch(/must be a JSON object/);
  });
});
