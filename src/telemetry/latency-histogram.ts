/**
 * A fixed-bucket latency histogram that sidecars fill and the router merges: bounds roughly ×2 apart
 * from 0.25 ms to 60 s, so a quantile read from merged buckets is within a factor of 2 (linear
 * interpolation inside the bucket does better in practice). Pure; used by sidecar/stage-stats.ts
 * (observe) and router/stats-window.ts (merge deltas, quantile).
 */

/** Upper bounds in milliseconds; counts has one more entry for everything above the last bound. */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 60000,
];

export class LatencyHistogram {
  readonly counts: number[] = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);

  /** Counts `n` records whose call took `ms`. */
  observe(ms: number, n = 1): void {
    this.counts[bucketOf(ms)]! += n;
  }

  get total(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }
}

export function bucketOf(ms: number): number {
  let lo = 0;
  let hi = LATENCY_BOUNDS_MS.length;
  // The first bound >= ms (binary search); LATENCY_BOUNDS_MS.length when above all.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (LATENCY_BOUNDS_MS[mid]! >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram with the given bounds, interpolated linearly inside
 * its bucket; undefined when it counts nothing. Above the last bound, the last bound is the answer.
 */
export function quantileOf(
  counts: readonly number[],
  q: number,
  bounds: readonly number[] = LATENCY_BOUNDS_MS,
): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && seen + c >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1];
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      const upper = bounds[i]!;
      return lower + ((upper - lower) * (rank - seen)) / c;
    }
    seen += c;
  }
  return bounds[bounds.length - 1];
}
