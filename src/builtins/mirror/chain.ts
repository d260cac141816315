/**
 * Segment names and the chain rule, pure. A segment covers offsets [from, to]
 * of one partition and holds the records that exist in that range (a compacted
 * or transactional source leaves offsets without a record; the source proved
 * them empty), named `{from:020}-{to:020}.{parquet|ndjson}` as mirror-v3 names
 * them. The destination is the checkpoint: segments must start at the start
 * offset and follow each other with no gap and no overlap, all in one format;
 * `*.tmp.<uuid>` files (mirror-v3's unfinished writes) are not segments and are
 * left alone; anything else in the partition's directory is a foreign file. The
 * next offset to copy is the last `to` + 1.
 */
import type { SegmentFormat } from "./config";
import { MirrorError } from "./mirror-error";

export interface Segment {
  from: number;
  to: number;
  /** File or object name within the partition's directory / prefix. */
  name: string;
  format: SegmentFormat;
}

const SEGMENT_RE = /^(\d{20})-(\d{20})\.(parquet|ndjson)$/;
/** mirror-v3 writes `<final>.tmp.<uuid>` and renames it; a crash leaves it behind, and mirror-v3 ignores it. */
const MIRROR_V3_TMP_RE = /\.tmp\.[0-9a-fA-F-]{36}$/;

export function segmentName(from: number, to: number, format: SegmentFormat): string {
  return `${String(from).padStart(20, "0")}-${String(to).padStart(20, "0")}.${format}`;
}

/** An unfinished write of mirror-v3: ignored (never a segment, never deleted). */
export function isMirrorV3TempName(name: string): boolean {
  return MIRROR_V3_TMP_RE.test(name);
}

/** The segment a name denotes, or undefined for anything that is not a well-formed segment name. */
export function parseSegmentName(name: string): Segment | undefined {
  const m = SEGMENT_RE.exec(name);
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = Number(m[2]);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from) return undefined;
  return { from, to, name, format: m[3] as SegmentFormat };
}

/**
 * Validates the names found in a partition's directory and returns the
 * segments in order, the next offset and the chain's format (undefined when
 * empty). `where` prefixes file names in errors (a directory or an s3://
 * prefix). Throws MIRROR_DESTINATION_INVALID naming the offending file.
 */
export function validateChain(
  names: string[],
  startOffset: number,
  where: string,
): { segments: Segment[]; next: number; format: SegmentFormat | undefined } {
  const segments: Segment[] = [];
  for (const name of [...names].sort()) {
    if (isMirrorV3TempName(name)) continue;
    const seg = parseSegmentName(name);
    if (!seg) {
      throw new MirrorError(
        "MIRROR_DESTINATION_INVALID",
        `foreign file ${where}/${name} in the destination: only {from:020}-{to:020}.parquet or .ndjson segments ` +
          "may be there; move it away to start the mirror",
        { file: `${where}/${name}` },
      );
    }
    const first = segments[0];
    if (first && first.format !== seg.format) {
      throw new MirrorError(
        "MIRROR_DESTINATION_INVALID",
        `mixed formats in the destination: ${where}/${seg.name} is ${seg.format} but ${where}/${first.name} is ` +
          `${first.format}; a chain has one format`,
        { file: `${where}/${seg.name}`, expected: first.format, actual: seg.format },
      );
    }
    segments.push(seg);
  }
  segments.sort((a, b) => a.from - b.from || a.to - b.to);
  let expected = startOffset;
  for (const seg of segments) {
    if (seg.from !== expected) {
      const kind = seg.from > expected ? "gap" : "overlap";
      throw new MirrorError(
        "MIRROR_DESTINATION_INVALID",
        `${kind} in the destination at ${where}/${seg.name}: expected a segment starting at offset ${expected}, ` +
          `found ${seg.from}-${seg.to}`,
        { file: `${where}/${seg.name}`, expected, actual: seg.from, kind },
      );
    }
    expected = seg.to + 1;
  }
  return { segments, next: expected, format: segments[0]?.format };
}
