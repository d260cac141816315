/**
 * A Sling replication file, read only as far as the wrapper needs: that it is a YAML/JSON mapping with a
 * `source` and a `target` connection and at least one stream. Sling itself validates the rest when it
 * runs. Connection values holding a URL (`sqlite:///…`) are inline and need no named connection.
 */
import * as fs from "node:fs";
import { parseYaml } from "../../config/config-file";

export interface Replication {
  source: string;
  target: string;
  streams: string[];
}

/** Parses `text` (from `file`, named in every problem); returns the replication or the problems. */
export function parseReplication(
  text: string,
  file: string,
): { replication?: Replication; problems: string[] } {
  let raw: unknown;
  try {
    raw = parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    return { problems: [`${file}: not valid YAML/JSON: ${(err as Error).message.split("\n")[0]}`] };
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    return { problems: [`${file}: a Sling replication must be a mapping with source, target and streams`] };
  }
  const r = raw as { [k: string]: unknown };
  const problems: string[] = [];
  for (const key of ["source", "target"] as const) {
    if (typeof r[key] !== "string" || (r[key] as string).trim() === "") {
      problems.push(`${file}: "${key}" must name a connection (e.g. ${key}: MISSION_DB)`);
    }
  }
  const streams = r.streams;
  if (
    !streams ||
    typeof streams !== "object" ||
    Array.isArray(streams) ||
    Object.keys(streams).length === 0
  ) {
    problems.push(
      `${file}: "streams" must map at least one source stream (e.g. streams: { main.telemetry: {} })`,
    );
  }
  if (problems.length > 0) return { problems };
  return {
    replication: {
      source: (r.source as string).trim(),
      target: (r.target as string).trim(),
      streams: Object.keys(streams as object),
    },
    problems,
  };
}

export function loadReplication(file: string): { replication?: Replication; problems: string[] } {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    return { problems: [`${file}: cannot read: ${(err as Error).message}`] };
  }
  return parseReplication(text, file);
}

/** True when a source/target value is a connection URL rather than the name of a connection. */
export function isInlineConnection(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value);
}

/** Named connections a replication needs (inline URLs excluded), in order, without duplicates. */
export function referencedConnections(r: Replication): string[] {
  return [...new Set([r.source, r.target].filter((c) => !isInlineConnection(c)))];
}

/**
 * Connection names out of `sling conns list`, which prints a box table:
 *   | CONN NAME | CONN TYPE       | SOURCE       |
 *   | LOCAL     | FileSys - Local | built-in     |
 */
export function parseConnsList(output: string): string[] {
  const names: string[] = [];
  for (const line of output.split("\n")) {
    const m = /^\|\s*([^|]+?)\s*\|/.exec(line.trim());
    if (m && m[1] !== "CONN NAME") names.push(m[1]);
  }
  return names;
}
