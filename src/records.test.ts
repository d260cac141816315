import { v1 } from "./proto";
import { recordFromInject } from "./records";
import type { InjectRecord__Output } from "./generated/conveyor/v1/InjectRecord";

/** An InjectRecord as the sidecar receives it: encoded and decoded by the real message type. */
function overTheWire(fields: object): InjectRecord__Output {
  const type = v1.InjectRecord as unknown as {
    serialize(m: object): Buffer;
    deserialize(b: Buffer): InjectRecord__Output;
  };
  return type.deserialize(type.serialize(fields));
}

describe("recordFromInject", () => {
  it("stores value_json's UTF-8 bytes and refuses a value_json that is not JSON", () => {
    const r = recordFromInject(overTheWire({ id: "a", key: "k", valueJson: '{"n":1}' }), 0);
    expect(r).toMatchObject({ id: "a", key: Buffer.from("k"), value: Buffer.from('{"n":1}') });
    expect(() => recordFromInject(overTheWire({ id: "b", valueJson: "not json" }), 1)).toThrow(
      expect.objectContaining({ code: "INVALID_RECORD" }),
    );
  });

  it("takes value's bytes as they are when set, even when they are not UTF-8 or empty", () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
    const r = recordFromInject(overTheWire({ id: "c", value: bytes, headers: { h: "1" } }), 0);
    expect(r.value).toEqual(bytes);
    expect(r.headers).toEqual({ h: "1" });
    const empty = recordFromInject(overTheWire({ id: "d", value: Buffer.alloc(0) }), 0);
    expect(empty.value).toEqual(Buffer.alloc(0));
  });
});
