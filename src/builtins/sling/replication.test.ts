import { isInlineConnection, parseConnsList, parseReplication, referencedConnections } from "./replication";

describe("parseReplication", () => {
  it("reads source, target and stream names", () => {
    const { replication, problems } = parseReplication(
      "source: MISSION\ntarget: COMMAND\ndefaults: { mode: incremental }\nstreams:\n  main.a: {}\n  main.b:\n",
      "p.yaml",
    );
    expect(problems).toEqual([]);
    expect(replication).toEqual({ source: "MISSION", target: "COMMAND", streams: ["main.a", "main.b"] });
  });

  it("names the file in every problem", () => {
    expect(parseReplication("target: 3\nstreams: []\n", "bad.yaml").problems).toEqual([
      'bad.yaml: "source" must name a connection (e.g. source: MISSION_DB)',
      'bad.yaml: "target" must name a connection (e.g. target: MISSION_DB)',
      'bad.yaml: "streams" must map at least one source stream (e.g. streams: { main.telemetry: {} })',
    ]);
    expect(parseReplication("- a\n- b\n", "list.yaml").problems[0]).toMatch(
      /^list.yaml: a Sling replication must be a mapping/,
    );
    expect(parseReplication("source: [\n", "broken.yaml").problems[0]).toMatch(
      /^broken.yaml: not valid YAML\/JSON/,
    );
    expect(parseReplication("source: A\nsource: B\n", "dup.yaml").problems[0]).toMatch(
      /^dup.yaml: not valid YAML/,
    );
  });
});

describe("connections", () => {
  it("skips inline URLs and duplicates", () => {
    expect(referencedConnections({ source: "MISSION", target: "MISSION", streams: [] })).toEqual(["MISSION"]);
    expect(referencedConnections({ source: "sqlite:///x.db", target: "PG", streams: [] })).toEqual(["PG"]);
    expect(isInlineConnection("postgresql://u@h/db")).toBe(true);
    expect(isInlineConnection("LOCAL")).toBe(false);
  });

  it("parses `sling conns list` (output of Sling 1.4.11)", () => {
    const out = [
      "+-----------+-----------------+--------------+",
      "| CONN NAME | CONN TYPE       | SOURCE       |",
      "+-----------+-----------------+--------------+",
      "| LOCAL     | FileSys - Local | built-in     |",
      "| MISSION   | DB - SQLite     | env variable |",
      "| PG        | DB - PostgreSQL | env variable |",
      "+-----------+-----------------+--------------+",
    ].join("\n");
    expect(parseConnsList(out)).toEqual(["LOCAL", "MISSION", "PG"]);
  });
});
