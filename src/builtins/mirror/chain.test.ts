import { MirrorError } from "./mirror-error";
import { parseSegmentName, segmentName, validateChain } from "./chain";

const seg = (from: number, to: number): string => segmentName(from, to, "ndjson");

function chainError(names: string[], start = 0): MirrorError {
  try {
    validateChain(names, start, "/d/t/0");
  } catch (err) {
    expect(err).toBeInstanceOf(MirrorError);
    return err as MirrorError;
  }
  throw new Error("chain accepted");
}

describe("segment names", () => {
  it("are zero-padded to 20 digits and parse back", () => {
    expect(seg(0, 9)).toBe("00000000000000000000-00000000000000000009.ndjson");
    expect(parseSegmentName(seg(40, 49))).toEqual({ from: 40, to: 49, name: seg(40, 49), format: "ndjson" });
    expect(segmentName(0, 9, "parquet")).toBe("00000000000000000000-00000000000000000009.parquet");
    expect(parseSegmentName(segmentName(0, 9, "parquet"))?.format).toBe("parquet");
    expect(parseSegmentName("0-9.ndjson")).toBeUndefined();
    expect(parseSegmentName(seg(9, 0))).toBeUndefined();
  });
});

describe("validateChain", () => {
  it("an empty destination starts at the start offset", () => {
    expect(validateChain([], 0, "/d").next).toBe(0);
    expect(validateChain([], 100, "/d").next).toBe(100);
  });

  it("next = last to + 1, whatever the listing order", () => {
    const r = validateChain([seg(10, 19), seg(0, 9), seg(20, 20)], 0, "/d");
    expect(r.next).toBe(21);
    expect(r.segments.map((s) => s.from)).toEqual([0, 10, 20]);
  });

  it("refuses a gap, naming the file", () => {
    const e = chainError([seg(0, 9), seg(11, 19)]);
    expect(e.code).toBe("MIRROR_DESTINATION_INVALID");
    expect(e.message).toContain(`gap in the destination at /d/t/0/${seg(11, 19)}`);
    expect(e.details).toMatchObject({ expected: 10, actual: 11 });
  });

  it("refuses an overlap, naming the file", () => {
    expect(chainError([seg(0, 9), seg(5, 19)]).message).toContain(
      `overlap in the destination at /d/t/0/${seg(5, 19)}`,
    );
  });

  it("refuses a chain that does not begin at the start offset", () => {
    expect(chainError([seg(10, 19)]).message).toContain("expected a segment starting at offset 0");
    expect(chainError([seg(0, 9)], 5).message).toContain("overlap");
  });

  it("refuses a foreign file, naming it", () => {
    const e = chainError([seg(0, 9), "notes.txt"]);
    expect(e.message).toContain("foreign file /d/t/0/notes.txt");
    expect(e.details).toEqual({ file: "/d/t/0/notes.txt" });
  });

  it("ignores mirror-v3's unfinished writes (*.tmp.<uuid>) and says the chain's format", () => {
    const tmp = `${segmentName(10, 19, "parquet")}.tmp.0f8fad5b-d9cb-469f-a165-70867728950e`;
    const r = validateChain([segmentName(0, 9, "parquet"), tmp], 0, "/d");
    expect(r).toMatchObject({ next: 10, format: "parquet" });
    expect(validateChain([], 0, "/d").format).toBeUndefined();
  });

  it("refuses a chain of two formats, naming the file", () => {
    const e = chainError([seg(0, 9), segmentName(10, 19, "parquet")]);
    expect(e.message).toContain("mixed formats in the destination");
    expect(e.details).toMatchObject({ expected: "ndjson", actual: "parquet" });
  });
});
