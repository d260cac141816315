/**
 * Decompression of Kafka record batches (RecordBatch v2 attributes bits 0-2):
 *
 *   1 gzip    node:zlib
 *   2 snappy  `snappy` (napi-rs, prebuilt addon); the Java producer's xerial
 *             framing (magic "\x82SNAPPY\0", then length-prefixed blocks) as well
 *             as librdkafka's raw snappy
 *   3 lz4     `lz4-napi` (prebuilt addon): the LZ4 frame format of v2 batches
 *   4 zstd    node:zlib where it has zstd (Node 22.15+, 23.8+), else `fzstd` (pure JS)
 *
 * The addons load on the first batch that needs them.
 */
import * as zlib from "node:zlib";

export const CODEC_NAMES = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** magic (8) + version (4) + compatible version (4). */
const XERIAL_HEADER = 16;

/* eslint-disable @typescript-eslint/no-require-imports -- codec libraries load on first use */
let snappyLib: typeof import("snappy") | undefined;
const snappy = (): typeof import("snappy") => (snappyLib ??= require("snappy") as typeof import("snappy"));
let lz4Lib: typeof import("lz4-napi") | undefined;
const lz4 = (): typeof import("lz4-napi") => (lz4Lib ??= require("lz4-napi") as typeof import("lz4-napi"));
let zstdLib: ((b: Buffer) => Buffer) | undefined;
function zstd(): (b: Buffer) => Buffer {
  if (zstdLib) return zstdLib;
  const native = (zlib as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync;
  if (native) return (zstdLib = native);
  const { decompress } = require("fzstd") as typeof import("fzstd");
  return (zstdLib = (b) => {
    const out = decompress(b);
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  });
}
/* eslint-enable @typescript-eslint/no-require-imports */

function unsnappy(body: Buffer): Buffer {
  const s = snappy();
  if (body.length < XERIAL_HEADER || !body.subarray(0, 8).equals(XERIAL_MAGIC)) {
    return s.uncompressSync(body) as Buffer;
  }
  const blocks: Buffer[] = [];
  for (let p = XERIAL_HEADER; p < body.length;) {
    const n = body.readInt32BE(p);
    blocks.push(s.uncompressSync(body.subarray(p + 4, p + 4 + n)) as Buffer);
    p += 4 + n;
  }
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
}

/** The records section of a batch compressed with `codec`; throws for an unknown codec. */
export function decompressRecords(codec: number, body: Buffer): Buffer {
  switch (codec) {
    case 0:
      return body;
    case 1:
      return zlib.gunzipSync(body);
    case 2:
      return unsnappy(body);
    case 3:
      return lz4().decompressFrameSync(body);
    case 4:
      return zstd()(body);
    default:
      throw new Error(`unknown compression codec ${codec}`);
  }
}
