import {
  outcomeFromMessage,
  parseSlingLine,
  rowsFromMessage,
  SlingRunSummary,
  stripAnsi,
  type SlingLogLine,
} from "./sling-output";

// Lines as Sling 1.4.11 prints them with SLING_LOGGING=JSON (captured from the real binary).
const REAL = [
  '{"lvl":"info","time":"2026-11-23T12:53:04Z","msg":"\\u001b[36mSling CLI | https://slingdata.io\\u001b[0m"}',
  '{"lvl":"info","time":"2026-11-23T12:53:04Z","msg":"Sling Replication | MISSION -> COMMAND | main.telemetry"}',
  '{"lvl":"info","time":"2026-11-23T12:53:04Z","msg":"inserted 2 rows into \\"main\\".\\"telemetry_m1\\" in 0 secs [34 r/s] [52 B]"}',
  '{"lvl":"info","time":"2026-11-23T12:53:18Z","msg":"wrote 3 rows [144 r/s] to file:///tmp/slx/out/telemetry.csv"}',
  '{"lvl":"warn","time":"2026-11-23T12:53:18Z","msg":"invalid or missing token."}',
  '{"lvl":"info","time":"2026-11-23T12:53:04Z","msg":"execution succeeded"}',
];

describe("parseSlingLine", () => {
  it("reads Sling's JSON lines: lvl, msg (colours stripped), time", () => {
    expect(parseSlingLine(REAL[0], "stdout")).toEqual({
      level: "info",
      message: "Sling CLI | https://slingdata.io",
      time: "2026-11-23T12:53:04Z",
      stream: "stdout",
      json: true,
    });
    expect(parseSlingLine(REAL[4], "stdout")?.level).toBe("warn");
  });

  it("keeps plain text: stderr is an error, `fatal:` is fatal, blank lines are dropped", () => {
    expect(parseSlingLine("\u001b[31mfatal:", "stderr")).toEqual({
      level: "fatal",
      message: "fatal:",
      stream: "stderr",
      json: false,
    });
    expect(parseSlingLine("Please use the SLING_STATE environment variable", "stderr")?.level).toBe("error");
    expect(parseSlingLine("hello", "stdout")?.level).toBe("info");
    expect(parseSlingLine("   ", "stdout")).toBeUndefined();
    expect(parseSlingLine("{not json", "stdout")).toMatchObject({ message: "{not json", json: false });
  });

  it("maps unknown levels to info and keeps known ones", () => {
    expect(parseSlingLine('{"lvl":"debug","msg":"x"}', "stdout")?.level).toBe("debug");
    expect(parseSlingLine('{"lvl":"weird","msg":"x"}', "stdout")?.level).toBe("info");
  });
});

describe("rows and outcome", () => {
  it.each([
    ['inserted 2 rows into "main"."t" in 0 secs [34 r/s] [52 B]', 2],
    ["wrote 3 rows [144 r/s] to file:///tmp/x.csv", 3],
    ["wrote 1 rows to file:///tmp/x.csv in 0 secs [37 r/s]", 1],
    ["inserted 1000000 rows into public.t", 1_000_000],
    ["created table main.t", undefined],
    ["rows: 5", undefined],
  ])("%s → %s", (msg, rows) => {
    expect(rowsFromMessage(msg)).toBe(rows);
  });

  it("finds the verdict", () => {
    expect(outcomeFromMessage("execution succeeded")).toBe("succeeded");
    expect(outcomeFromMessage("execution failed")).toBe("failed");
    expect(outcomeFromMessage("streaming data")).toBeUndefined();
  });

  it("strips ANSI colours", () => {
    expect(stripAnsi("\u001b[90m12:53PM\u001b[0m \u001b[32mINF\u001b[0m ok")).toBe("12:53PM INF ok");
  });
});

describe("SlingRunSummary", () => {
  const lines = (raw: string[], stream: "stdout" | "stderr"): SlingLogLine[] =>
    raw.map((r) => parseSlingLine(r, stream)).filter((l): l is SlingLogLine => l !== undefined);

  it("sums rows over every stream of a replication and keeps the verdict", () => {
    const s = new SlingRunSummary();
    for (const l of lines(REAL, "stdout")) s.add(l);
    expect(s.rows).toBe(5);
    expect(s.outcome).toBe("succeeded");
    expect(s.errorText()).toBeUndefined();
  });

  it("keeps Sling's error without its boilerplate", () => {
    const s = new SlingRunSummary();
    for (const l of lines(['{"lvl":"info","msg":"execution failed"}'], "stdout")) s.add(l);
    for (const l of lines(
      [
        "\u001b[31mfatal:",
        "~ failure running replication (see docs @ https://docs.slingdata.io/sling-cli)",
        "--------------------------- main.telemetry ---------------------------",
        "no such table: telemetry\u001b[0m",
      ],
      "stderr",
    ))
      s.add(l);
    expect(s.outcome).toBe("failed");
    expect(s.errorText()).toBe("no such table: telemetry");
  });
});
