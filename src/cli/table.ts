/** Plain-text tables for command output: left-aligned columns, two spaces apart. */

export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    headers
      .map((_, i) => (cells[i] ?? "").padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** A titled table; "(none)" under the header when there are no rows. */
export function formatSection(
  title: string,
  headers: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
): string {
  return `${title}\n${formatTable(headers, rows)}${rows.length === 0 ? "(none)\n" : ""}`;
}
