/**
 * The pure parts of the Sling source (source.ts): the query and the Sling arguments of one read, a
 * JSON-lines row → Record, and cursors.
 *
 * A cursor is the JSON text of an update-key value (`42`, `"2025-01-01 00:00:00"`), so its type survives
 * a restart: a number goes back into SQL as a number, a string as a quoted literal. Cursors are never
 * compared in JavaScript: the database orders the rows (`order by <updateKey>`) and evaluates the
 * resume condition (`<updateKey> > <cursor>`), so its collation and types are the only authority; the
 * reader only asks "same value as the next row?" (a tie) and takes the last row's value otherwise.
 */
import { createHash } from "node:crypto";
import type { Record } from "../../stages/contract";
import type { SlingSourceConfig } from "./source-config";

export const SLING_STREAM_HEADER = "sling-stream";
export const SLING_UPDATE_KEY_HEADER = "sling-update-key";

export type UpdateKeyValue = number | string;

/** A row that breaks the source's contract (no update key, unusable value, not a JSON object). */
export class RowError extends Error {}

export function encodeCursor(value: UpdateKeyValue): string {
  return JSON.stringify(value);
}

/** The value of a cursor saved by encodeCursor; throws on anything else (a corrupt state file). */
export function decodeCursor(cursor: string): UpdateKeyValue {
  let value: unknown;
  try {
    value = JSON.parse(cursor);
  } catch {
    throw new RowError(`cursor ${cursor} is not JSON`);
  }
  if (typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) return value;
  throw new RowError(`cursor ${cursor} is not a number or a string`);
}

/** The value as a SQL literal: numbers bare, strings single-quoted with quotes doubled. */
export function sqlLiteral(value: UpdateKeyValue): string {
  if (typeof value === "number") return String(value);
  return `'${value.replace(/'/g, "''")}'`;
}

/** A stream with whitespace in it is SQL (`select …`); otherwise it is a table name. */
export function isSqlQuery(stream: string): boolean {
  return /\s/.test(stream.trim());
}

/**
 * The query of one read: every row with a non-null update key greater than `after` (all of them when
 * undefined), in update-key order. A user's SQL is wrapped as a subquery (its trailing `;` dropped).
 */
export function sourceQuery(config: Pick<SlingSourceConfig, "stream" | "updateKey">, after?: string): string {
  const stream = config.stream.trim().replace(/;+\s*$/, "");
  const inner = isSqlQuery(stream) ? stream : `select * from ${stream}`;
  const k = config.updateKey;
  const where = [`${k} is not null`];
  if (after !== undefined) where.push(`${k} > ${sqlLiteral(decodeCursor(after))}`);
  return `select * from (${inner}) as conveyor_src where ${where.join(" and ")} order by ${k}`;
}

/** The arguments of one Sling run that writes the query's rows to `file` as JSON lines. */
export function sourceArgs(connection: string, query: string, file: string, limit: number): string[] {
  return [
    "run",
    "--src-conn",
    connection,
    "--src-stream",
    query,
    "--tgt-object",
    `file://${file}`,
    "--tgt-options",
    JSON.stringify({ format: "jsonlines" }),
    "--limit",
    String(limit),
  ];
}

/** A connection for logs: a URL's password replaced by `***` (a connection name is kept as is). */
export function redactConnection(connection: string): string {
  if (!connection.includes("://")) return connection;
  try {
    const url = new URL(connection);
    if (url.password !== "") url.password = "***";
    return url.toString();
  } catch {
    return connection.replace(/\/\/[^@/]*@/, "//***@");
  }
}

/** A column of a row: its exact name, else the one name that differs only by case (PostgreSQL folds). */
export function columnValue(row: { [column: string]: unknown }, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(row, name)) return row[name];
  const lower = name.toLowerCase();
  const matches = Object.keys(row).filter((c) => c.toLowerCase() === lower);
  return matches.length === 1 ? row[matches[0]] : undefined;
}

function updateKeyValue(row: { [column: string]: unknown }, updateKey: string): UpdateKeyValue {
  const value = columnValue(row, updateKey);
  if (value === undefined) throw new RowError(`the row has no update key column "${updateKey}"`);
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) {
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw new RowError(
        `update key ${updateKey} = ${value} is beyond 2^53: JavaScript cannot keep it exact`,
      );
    }
    return value;
  }
  throw new RowError(`update key ${updateKey} is ${JSON.stringify(value)}: it must be a number or a string`);
}

function keyText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

export interface SourceRow {
  record: Record;
  /** encodeCursor(update-key value) of the row. */
  cursor: string;
}

/**
 * The record of one JSON line written by Sling: id = the primary key's values (one column: its text;
 * several: a JSON array), else a hash of the line; key = the same bytes; value = the line itself (Sling's
 * JSON, so large integers stay exact); headers: the stream and the update-key value.
 */
export function rowToSourceRow(
  line: string,
  config: Pick<SlingSourceConfig, "stream" | "updateKey" | "primaryKey">,
  nowMs: number,
): SourceRow {
  let row: unknown;
  try {
    row = JSON.parse(line);
  } catch {
    throw new RowError(`Sling wrote a line that is not JSON: ${line.slice(0, 200)}`);
  }
  if (row === null || typeof row !== "object" || Array.isArray(row))
    throw new RowError(`Sling wrote a line that is not a JSON object: ${line.slice(0, 200)}`);
  const columns = row as { [column: string]: unknown };
  const updateKey = updateKeyValue(columns, config.updateKey);
  let id: string;
  if (config.primaryKey && config.primaryKey.length > 0) {
    const values = config.primaryKey.map((c) => {
      const v = columnValue(columns, c);
      if (v === undefined || v === null) throw new RowError(`the row has no primary key column "${c}"`);
      return v;
    });
    id = values.length === 1 ? keyText(values[0]) : JSON.stringify(values);
  } else {
    id = createHash("sha256").update(line).digest("hex").slice(0, 32);
  }
  return {
    record: {
      id,
      key: Buffer.from(id, "utf8"),
      value: Buffer.from(line, "utf8"),
      headers: { [SLING_STREAM_HEADER]: config.stream, [SLING_UPDATE_KEY_HEADER]: keyText(updateKey) },
      eventTimeMs: nowMs,
    },
    cursor: encodeCursor(updateKey),
  };
}

/**
 * The cursor of a batch (the cursors of its rows, in order) followed by the row with cursor `next`
 * (undefined: nothing that belongs to the read follows yet). The batch's last update-key value is only
 * complete if the next row has another value; when a batch splits the rows of one value, acking it must
 * not skip the rest of them, so its cursor is the last complete value in it, else where it was
 * (`previous`, "" when nothing was complete yet: an ack of "" is ignored).
 */
export function batchCursor(cursors: readonly string[], next: string | undefined, previous: string): string {
  const last = cursors[cursors.length - 1];
  if (next === undefined || next !== last) return last;
  for (let i = cursors.length - 2; i >= 0; i--) if (cursors[i] !== last) return cursors[i];
  return previous;
}
