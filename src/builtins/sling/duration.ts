/**
 * Durations for the Sling built-in's env and flags (`SYNC_BACKOFF_BASE=5s`, `SLING_TIMEOUT=30m`),
 * in Go's `time.ParseDuration` spelling so Kubernetes manifests written for the seed tool keep working:
 * one or more `<number><unit>` parts with units ms, s, m, h (`1h30m`, `1.5s`, `250ms`). A bare number is
 * rejected rather than guessed: Sling itself reads `SLING_TIMEOUT=30` as minutes, seconds are another
 * common reading, and a silent wrong guess would kill jobs 60 times too early.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)/y;

/** Milliseconds in `text`, or an Error saying what is wrong with it (the caller names the variable). */
export function parseDuration(text: string): number {
  const s = text.trim();
  if (s === "0") return 0;
  if (s === "") throw new Error("empty duration (use e.g. 5s, 30m, 1h30m)");
  if (/^\d+(\.\d+)?$/.test(s)) {
    throw new Error(`"${s}" has no unit (use e.g. ${s}s or ${s}m; units: ms, s, m, h)`);
  }
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m) throw new Error(`"${s}" is not a duration at "${s.slice(at)}" (use e.g. 5s, 30m, 1h30m)`);
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  }
  return Math.round(total);
}

/** `90000` → `1m30s`: how logs and errors show a duration. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.join("") || "0s";
}
