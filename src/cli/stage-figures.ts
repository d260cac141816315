/** How `conveyor status` and `conveyor top` print a stage's figures: rates, bytes, latency. */

export function formatRate(perSec: number): string {
  if (perSec === 0) return "0";
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(1)}M`;
  if (perSec >= 1e4) return `${(perSec / 1e3).toFixed(1)}k`;
  return perSec >= 100 ? String(Math.round(perSec)) : perSec.toFixed(1);
}

export function formatBytesRate(perSec: number): string {
  if (perSec >= 1 << 30) return `${(perSec / (1 << 30)).toFixed(1)}GiB`;
  if (perSec >= 1 << 20) return `${(perSec / (1 << 20)).toFixed(1)}MiB`;
  if (perSec >= 1 << 10) return `${(perSec / (1 << 10)).toFixed(1)}KiB`;
  return `${Math.round(perSec)}B`;
}

/** "-" when nothing was measured. */
export function formatLatency(ms: number, samples: number): string {
  if (samples <= 0) return "-";
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)}s`;
  return `${ms.toFixed(ms < 10 ? 2 : 0)}ms`;
}

export function formatShare(share: number): string {
  return `${Math.round(share * 100)}%`;
}
