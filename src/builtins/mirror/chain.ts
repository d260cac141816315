/**
 * Segment names and the chain rule, pure. A segment holds the records of
 * offsets [from, to] of one partition, named `{from:020}-{to:020}.ndjson`.
 * The destination is the checkpoint: segments must start at the start offset
 * and follow each other with no gap and no overlap; anything else in the
 * partition's directory is a foreign file. The next offset to copy is the last
 * `to` + 1.
 */
import { MirrorError } from "./mirror-error";

export interface Segment {
  from: number;
  to: number;
  /** File or object name within the partition's directory / prefix. */
  name: string;
}

const SEGMENT_RE = /^(\d{20})-(\d{20})\.ndjson$/;

export function segmentName(from: number, to: number): string {
  return `${String(from).padStart(20, "0")}-${String(to).padStart(20, "0")}.ndjson`;
}

/** The segment a name denotes, or undefined for anything that is not a well-formed segment name. */
export function parseSegmentName(name: string): Segment | undefined {
  const m = SEGMENT_RE.exec(name);
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = Number(m[2]);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from) return undefined;
  return { from, to, name };
}

/**
 * Validates the names found in a partition's directory and returns the
 * segments in order and the next offset. `where` prefixes file names in errors
 * (a directory or an s3:// prefix). Throws MIRROR_DESTINATION_INVALID naming
 * the offending file.
 */
export function validateChain(
  names: string[],
  startOffset: number,
  where: string,
): { segments: Segment[]; next: number } {
  const segments: Segment[] = [];
  for (const name of [...names].sort()) {
    const seg = parseSegmentName(name);
    if (!seg) {
      throw new MirrorError(
        "MIRROR_DESTINATION_INVALID",
        `foreign file ${where}/${name} in the destination: only {from:020}-{to:020}.ndjson segments may be there; ` +
          "move it away to start the mirror",
        { file: `${where}/${name}` },
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
  return { segments, next: expected };
}
