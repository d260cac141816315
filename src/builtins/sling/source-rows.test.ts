import {
  batchCursor,
  columnValue,
  decodeCursor,
  encodeCursor,
  isSqlQuery,
  redactConnection,
  RowError,
  rowToSourceRow,
  sourceArgs,
  sourceQuery,
  sqlLiteral,
  SLING_STREAM_HEADER,
  SLING_UPDATE_KEY_HEADER,
} from "./source-rows";

const config = { stream: "main.telemetry", updateKey: "id", primaryKey: ["id"] };

describe("cursors", () => {
  it("keep the update key's type: numbers bare, strings quoted (SQL quotes doubled)", () => {
    expect(encodeCursor(42)).toBe("42");
    expect(encodeCursor("2025-01-01 00:00:00")).toBe('"2025-01-01 00:00:00"');
    expect(decodeCursor("42")).toBe(42);
    expect(decodeCursor('"a"')).toBe("a");
    expect(sqlLiteral(decodeCursor("42"))).toBe("42");
    expect(sqlLiteral(decodeCursor('"2025-01-01T00:00:00Z"'))).toBe("'2025-01-01T00:00:00Z'");
    expect(sqlLiteral("it's")).toBe("'it''s'");
  });

  it("refuse what a state file should never hold", () => {
    expect(() => decodeCursor("{")).toThrow(RowError);
    expect(() => decodeCursor("null")).toThrow(/not a number or a string/);
    expect(() => decodeCursor("[1]")).toThrow(/not a number or a string/);
  });

  it("a batch moves the cursor to its last value, unless the next row has the same value (a tie)", () => {
    expect(batchCursor(["4", "5"], "6", "3")).toBe("5");
    expect(batchCursor(["4", "5"], undefined, "3")).toBe("5");
    // Rows with 5 remain: acking 5 would skip them, 4 is the last value complete in the batch.
    expect(batchCursor(["4", "5", "5"], "5", "3")).toBe("4");
    expect(batchCursor(["5", "5"], "5", "3")).toBe("3"); // nothing new complete: where it was
    expect(batchCursor(['"b"'], '"b"', "")).toBe(""); // nothing complete yet: an ack of "" is ignored
  });
});

describe("sourceQuery", () => {
  it("reads a table in update-key order, non-null keys only, after the cursor", () => {
    expect(sourceQuery(config)).toBe(
      "select * from (select * from main.telemetry) as conveyor_src where id is not null order by id",
    );
    expect(sourceQuery(config, "41")).toBe(
      "select * from (select * from main.telemetry) as conveyor_src where id is not null and id > 41 order by id",
    );
  });

  it("wraps a query as a subquery, dropping its trailing semicolon", () => {
    expect(
      sourceQuery(
        { stream: "select id, ts from telemetry where sensor = 'temp';\n", updateKey: "ts" },
        '"2025-01-01"',
      ),
    ).toBe(
      "select * from (select id, ts from telemetry where sensor = 'temp') as conveyor_src " +
        "where ts is not null and ts > '2025-01-01' order by ts",
    );
    expect(isSqlQuery("public.events")).toBe(false);
    expect(isSqlQuery("select 1")).toBe(true);
  });

  it("one Sling run writes JSON lines to a file, at most `limit` rows", () => {
    expect(sourceArgs("MISSION", "select 1", "/tmp/x/read-0.jsonl", 1000)).toEqual([
      "run",
      "--src-conn",
      "MISSION",
      "--src-stream",
      "select 1",
      "--tgt-object",
      "file:///tmp/x/read-0.jsonl",
      "--tgt-options",
      '{"format":"jsonlines"}',
      "--limit",
      "1000",
    ]);
  });
});

describe("rowToSourceRow", () => {
  const line = '{"id":7,"sensor":"temp","ts":"2025-01-01T00:07:00Z","value":"20.5"}';

  it("id and key = the primary key, value = the line itself, stream and update-key headers", () => {
    const { record, cursor } = rowToSourceRow(line, config, 1234);
    expect(record.id).toBe("7");
    expect(record.key.toString()).toBe("7");
    expect(record.value.toString()).toBe(line);
    expect(record.headers).toEqual({
      [SLING_STREAM_HEADER]: "main.telemetry",
      [SLING_UPDATE_KEY_HEADER]: "7",
    });
    expect(record.eventTimeMs).toBe(1234);
    expect(cursor).toBe("7");
  });

  it("a composite primary key is a JSON array; a string update key keeps its quotes in the cursor", () => {
    const r = rowToSourceRow(line, { stream: "s", updateKey: "ts", primaryKey: ["sensor", "id"] }, 0);
    expect(r.record.id).toBe('["temp",7]');
    expect(r.cursor).toBe('"2025-01-01T00:07:00Z"');
    expect(r.record.headers[SLING_UPDATE_KEY_HEADER]).toBe("2025-01-01T00:07:00Z");
  });

  it("without a primary key the id is a stable hash of the row", () => {
    const a = rowToSourceRow(line, { stream: "s", updateKey: "id" }, 0);
    const b = rowToSourceRow(line, { stream: "s", updateKey: "id" }, 99);
    const c = rowToSourceRow(line.replace("temp", "pressure"), { stream: "s", updateKey: "id" }, 0);
    expect(a.record.id).toMatch(/^[0-9a-f]{32}$/);
    expect(a.record.id).toBe(b.record.id);
    expect(c.record.id).not.toBe(a.record.id);
  });

  it("finds a column whose case the database changed (PostgreSQL folds unquoted names)", () => {
    expect(
      rowToSourceRow('{"updatedat":"x","id":1}', { stream: "s", updateKey: "updatedAt" }, 0).cursor,
    ).toBe('"x"');
    expect(columnValue({ A: 1, a: 2 }, "a")).toBe(2);
    expect(columnValue({ A: 1, b: 2 }, "a")).toBe(1);
  });

  it("large integers stay exact in the value; as an update key beyond 2^53 they are refused", () => {
    const big = '{"id":1,"n":9007199254740993}';
    expect(rowToSourceRow(big, { stream: "s", updateKey: "id" }, 0).record.value.toString()).toBe(big);
    expect(() => rowToSourceRow(big, { stream: "s", updateKey: "n" }, 0)).toThrow(/beyond 2\^53/);
  });

  it("rows that break the contract are RowErrors naming the problem", () => {
    expect(() => rowToSourceRow('{"x":1}', config, 0)).toThrow(/no update key column "id"/);
    expect(() => rowToSourceRow('{"id":true}', config, 0)).toThrow(/must be a number or a string/);
    expect(() => rowToSourceRow('{"id":1}', { ...config, primaryKey: ["pk"] }, 0)).toThrow(
      /no primary key column "pk"/,
    );
    expect(() => rowToSourceRow("id,ts", config, 0)).toThrow(RowError);
    expect(() => rowToSourceRow("[1]", config, 0)).toThrow(/not a JSON object/);
  });
});

describe("redactConnection", () => {
  it("hides a URL's password and keeps connection names", () => {
    expect(redactConnection("MISSION_DB")).toBe("MISSION_DB");
    expect(redactConnection("postgresql://u:secret@h:5432/db?sslmode=disable")).toBe(
      "postgresql://u:***@h:5432/db?sslmode=disable",
    );
    expect(redactConnection("sqlite:///data/m.db")).toBe("sqlite:///data/m.db");
  });
});
