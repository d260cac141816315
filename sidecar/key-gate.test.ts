import { KeyGate } from "./key-gate";

describe("KeyGate", () => {
  const gate = () => new KeyGate<{ id: string; key: string }>((i) => i.key);
  const item = (id: string, key: string) => ({ id, key });

  it("admits the first item of each key and keyless items; the rest wait in arrival order", () => {
    const g = gate();
    const ready = g.admit([item("1", "a"), item("2", "b"), item("3", "a"), item("4", ""), item("5", "a")]);
    expect(ready.map((i) => i.id)).toEqual(["1", "2", "4"]);
    expect(g.size).toBe(2);
    expect(g.admit([item("6", "b")])).toEqual([]);
    expect(g.release(item("1", "a"))?.id).toBe("3");
    expect(g.release(item("3", "a"))?.id).toBe("5");
    expect(g.release(item("5", "a"))).toBeUndefined();
    expect(g.release(item("2", "b"))?.id).toBe("6");
    expect(g.release(item("6", "b"))).toBeUndefined();
    expect(g.size).toBe(0);
    // A key that is free again admits at once.
    expect(g.admit([item("7", "a")]).map((i) => i.id)).toEqual(["7"]);
    expect(g.release(item("4", ""))).toBeUndefined();
  });
});
