import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import {
  asConveyorError,
  ConveyorError,
  ERROR_CODES,
  errorCodeLabel,
  foreignCode,
  fromGrpcError,
  redactAtEdge,
  toGrpcStatus,
  type EdgeLogger,
  type ErrorCode,
  type ErrorSpec,
} from "./errors";

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

interface DocRow {
  code: string;
  status: string;
  retryable: string;
  counts: string;
  meaning: string;
  todo: string;
}

/** Rows of the code table in docs/errors.md (the one headed "Code | gRPC status | …"). */
function documentedRows(): DocRow[] {
  const text = fs.readFileSync(path.join(__dirname, "..", "docs", "errors.md"), "utf8");
  const rows: DocRow[] = [];
  let inCodeTable = false;
  for (const line of text.split("\n")) {
    if (!line.startsWith("|")) {
      inCodeTable = false;
      continue;
    }
    const cells = line
      .slice(1, line.trimEnd().endsWith("|") ? line.trimEnd().length - 1 : undefined)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    if (cells[0] === "Code" && cells[1] === "gRPC status") inCodeTable = true;
    if (!inCodeTable) continue;
    const code = /^`([A-Z0-9_]+)`$/.exec(cells[0] ?? "");
    if (!code) continue;
    const [, status = "", retryable = "", counts = "", meaning = "", todo = ""] = cells;
    rows.push({ code: code[1], status: status.replace(/`/g, ""), retryable, counts, meaning, todo });
  }
  return rows;
}

/** A ServiceError as a grpc-js client sees it. */
function serviceError(
  status: Partial<grpc.StatusObject> & { code: grpc.status; details: string },
): grpc.ServiceError {
  return Object.assign(new Error(`${status.code} ${grpc.status[status.code]}: ${status.details}`), {
    code: status.code,
    details: status.details,
    metadata: status.metadata ?? new grpc.Metadata(),
  });
}

/** An edge logger that keeps what it was given; its component names the process in the redacted message. */
function capturingLog(): EdgeLogger & { lines: Array<[object, string]>; bindings(): { component: string } } {
  const lines: Array<[object, string]> = [];
  return {
    lines,
    error: (fields, message) => void lines.push([fields, message]),
    bindings: () => ({ component: "test" }),
  };
}

describe("ERROR_CODES", () => {
  it("has unique codes, each mapped to a real gRPC status and described", () => {
    expect(new Set(CODES).size).toBe(CODES.length);
    for (const code of CODES) {
      const entry = ERROR_CODES[code];
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(grpc.status[entry.status]).toBeDefined();
      expect(entry.status).not.toBe(grpc.status.OK);
      expect(entry.doc.length).toBeGreaterThan(10);
    }
  });

  it("gives every code both columns, retryable and countsAgainstStage, as booleans", () => {
    for (const code of CODES) {
      const entry: ErrorSpec = ERROR_CODES[code];
      expect({ code, retryable: typeof entry.retryable }).toEqual({ code, retryable: "boolean" });
      expect({ code, counts: typeof entry.countsAgainstStage }).toEqual({ code, counts: "boolean" });
    }
  });

  it("never lets a transport or placement failure count against a stage", () => {
    const notTheStages: ErrorCode[] = [
      "PEER_UNAVAILABLE",
      "NO_ROUTE",
      "SHUTTING_DOWN",
      "STALE_GENERATION",
      "TABLE_BEHIND",
      "PIPELINE_NOT_FOUND",
      "STAGE_NOT_FOUND",
      "UNKNOWN_BUILTIN",
      "ROUTER_UNAVAILABLE",
    ];
    for (const code of notTheStages)
      expect({ code, counts: ERROR_CODES[code].countsAgainstStage }).toEqual({ code, counts: false });
    // Refused batches are retried by their sender once tables agree.
    for (const code of ["STALE_GENERATION", "TABLE_BEHIND", "PEER_UNAVAILABLE"] as const)
      expect({ code, retryable: ERROR_CODES[code].retryable }).toEqual({ code, retryable: true });
    for (const code of ["STAGE_FAILED", "STAGE_CALL_FAILED", "TIMEOUT", "RECORD_TOO_LARGE"] as const)
      expect({ code, counts: ERROR_CODES[code].countsAgainstStage }).toEqual({ code, counts: true });
  });

  it("is documented in docs/errors.md: one row per code, no code that does not exist", () => {
    const rows = documentedRows();
    const documented = rows.map((r) => r.code);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...CODES].sort());
  });

  it("docs/errors.md states each code's gRPC status, retryability and fault as the table does", () => {
    for (const row of documentedRows()) {
      const entry = ERROR_CODES[row.code as ErrorCode];
      expect({ code: row.code, status: row.status, retryable: row.retryable, counts: row.counts }).toEqual({
        code: row.code,
        status: grpc.status[entry.status],
        retryable: entry.retryable ? "yes" : "no",
        counts: entry.countsAgainstStage ? "yes" : "no",
      });
      expect(row.meaning).not.toBe("");
      expect(row.todo).not.toBe("");
    }
  });
});

describe("ConveyorError", () => {
  it("takes retryable and gRPC status from the table", () => {
    const e = new ConveyorError("NO_ROUTE", "no sidecar runs enrich", { stage: "enrich" });
    expect(e.retryable).toBe(true);
    expect(e.grpcStatus).toBe(grpc.status.UNAVAILABLE);
    expect(e.details).toEqual({ stage: "enrich" });
    expect(e).toBeInstanceOf(Error);
    expect(e.countsAgainstStage).toBe(false);
    expect(new ConveyorError("CONFIG_INVALID", "x").retryable).toBe(false);
    expect(new ConveyorError("STAGE_CALL_FAILED", "x").countsAgainstStage).toBe(true);
  });

  it("keeps its cause", () => {
    const cause = new Error("ECONNREFUSED");
    expect(new ConveyorError("PEER_UNAVAILABLE", "peer down", {}, { cause }).cause).toBe(cause);
  });
});

describe("toGrpcStatus / fromGrpcError", () => {
  it.each(CODES.filter((c) => c !== "INTERNAL"))("round-trips %s through a gRPC status", (code) => {
    const status = toGrpcStatus(new ConveyorError(code, `something about ${code}`));
    expect(status.code).toBe(ERROR_CODES[code].status);
    expect(status.details).toBe(`${code}: something about ${code}`);
    const back = fromGrpcError(serviceError(status));
    expect(back).toBeInstanceOf(ConveyorError);
    expect(back.code).toBe(code);
    expect(back.message).toBe(`something about ${code}`);
    expect(back.retryable).toBe(ERROR_CODES[code].retryable);
    expect(back.details.grpcCode).toBe(ERROR_CODES[code].status);
  });

  it("maps an unknown thrown value to INTERNAL", () => {
    const log = capturingLog();
    for (const thrown of [new TypeError("cannot read properties of undefined"), "a string", 42, undefined]) {
      const status = toGrpcStatus(thrown, log);
      expect(status.code).toBe(grpc.status.INTERNAL);
      expect(status.details).toMatch(/^INTERNAL: internal error \(see the test log, ref [0-9a-f]{8}\)$/);
      expect(asConveyorError(thrown).code).toBe("INTERNAL");
    }
    expect(asConveyorError(new Error("boom"), "STAGE_FAILED").code).toBe("STAGE_FAILED");
  });

  it("redacts INTERNAL for the client and logs it in full, once, under the same ref", () => {
    const log = capturingLog();
    const bug = new ConveyorError(
      "INTERNAL",
      "invariant broke: table v7 has no stage 3 at /srv/secret/path",
      {
        pipeline: "p",
      },
    );
    const status = toGrpcStatus(bug, log);
    expect(status.details).not.toContain("secret");
    expect(status.details).not.toContain("invariant");
    const ref = /ref ([0-9a-f]{8})\)$/.exec(status.details)?.[1];
    expect(ref).toBeDefined();
    expect(log.lines).toHaveLength(1);
    const [fields] = log.lines[0]!;
    expect(fields).toMatchObject({ ref, err: bug });
    expect((fields as { err: Error }).err.stack).toContain("invariant broke");
    // What the client decodes is still INTERNAL, and names the ref.
    const back = fromGrpcError(serviceError(status));
    expect(back.code).toBe("INTERNAL");
    expect(back.message).toBe(`internal error (see the test log, ref ${ref})`);
    // Other codes are passed as they are and not logged by the edge.
    expect(toGrpcStatus(new ConveyorError("NO_ROUTE", "no sidecar runs enrich"), log).details).toBe(
      "NO_ROUTE: no sidecar runs enrich",
    );
    expect(log.lines).toHaveLength(1);
  });

  it("redactAtEdge passes non-INTERNAL errors as they are", () => {
    const e = new ConveyorError("STAGE_FAILED", "bad record");
    expect(redactAtEdge(e, capturingLog())).toBe(e);
  });

  // Statuses (and grpc-js 1.14's own messages) as a client sees them from a stage service that is not ours.
  const FOREIGN: Array<[string, grpc.status, string, ErrorCode]> = [
    ["a stage that is down", grpc.status.UNAVAILABLE, "No connection established", "PEER_UNAVAILABLE"],
    ["a dropped connection", grpc.status.UNAVAILABLE, "Connection dropped", "PEER_UNAVAILABLE"],
    ["a cancelled call", grpc.status.CANCELLED, "Call cancelled", "PEER_UNAVAILABLE"],
    [
      "GOAWAY ENHANCE_YOUR_CALM (too_many_pings from a C-core/Go/Java server)",
      grpc.status.RESOURCE_EXHAUSTED,
      "Bandwidth exhausted or memory limit exceeded",
      "PEER_UNAVAILABLE",
    ],
    [
      "a RST_STREAM without status",
      grpc.status.INTERNAL,
      "Received RST_STREAM with code 0 (Call ended without gRPC status)",
      "PEER_UNAVAILABLE",
    ],
    [
      "a RST_STREAM internal error",
      grpc.status.INTERNAL,
      "Received RST_STREAM with code 2 (Internal server error)",
      "PEER_UNAVAILABLE",
    ],
    ["a reset socket", grpc.status.UNAVAILABLE, "read ECONNRESET", "PEER_UNAVAILABLE"],
    ["a refused stream", grpc.status.UNAVAILABLE, "Stream refused by server", "PEER_UNAVAILABLE"],
    ["a stage that hung", grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded after 30.001s", "TIMEOUT"],
    [
      "grpc-js's receive size check",
      grpc.status.RESOURCE_EXHAUSTED,
      "Received message larger than max (70000000 vs 67108864)",
      "RECORD_TOO_LARGE",
    ],
    [
      "grpc-js's send size check",
      grpc.status.RESOURCE_EXHAUSTED,
      "Sent message larger than max (70000000 vs. 67108864)",
      "RECORD_TOO_LARGE",
    ],
    [
      "grpc-js's decompressed size check",
      grpc.status.RESOURCE_EXHAUSTED,
      "Received message that decompresses to a size larger than 67108864",
      "RECORD_TOO_LARGE",
    ],
    [
      "C-core's size check",
      grpc.status.RESOURCE_EXHAUSTED,
      "Received message larger than max (70000000 vs. 4194304)",
      "RECORD_TOO_LARGE",
    ],
    ["a stage's own quota refusal", grpc.status.RESOURCE_EXHAUSTED, "quota exceeded", "PEER_UNAVAILABLE"],
    ["a Python stage answering NOT_FOUND", grpc.status.NOT_FOUND, "no such customer 42", "STAGE_CALL_FAILED"],
    ["a stage answering INVALID_ARGUMENT", grpc.status.INVALID_ARGUMENT, "bad value", "STAGE_CALL_FAILED"],
    [
      "a stage answering INTERNAL",
      grpc.status.INTERNAL,
      "Exception calling application: KeyError",
      "STAGE_CALL_FAILED",
    ],
    ["a stage answering UNKNOWN", grpc.status.UNKNOWN, "Unexpected error", "STAGE_CALL_FAILED"],
    ["a stage without the method", grpc.status.UNIMPLEMENTED, "Method not found!", "STAGE_CALL_FAILED"],
    ["a stage refusing", grpc.status.PERMISSION_DENIED, "denied", "STAGE_CALL_FAILED"],
    ["a stage failing a precondition", grpc.status.FAILED_PRECONDITION, "not ready", "STAGE_CALL_FAILED"],
  ];

  it.each(FOREIGN)(
    "classes %s (no conveyor-error-code) by status and message",
    (_what, status, details, code) => {
      const e = fromGrpcError(serviceError({ code: status, details }));
      expect(e.code).toBe(code);
      expect(e.message).toBe(details);
      expect(e.details.grpcCode).toBe(status);
      expect(foreignCode(status, details)).toBe(code);
    },
  );

  it("never makes a transport failure the stage's fault, nor a foreign status a placement error", () => {
    for (const [what, status, details, code] of FOREIGN) {
      const e = fromGrpcError(serviceError({ code: status, details }));
      const transport = code === "PEER_UNAVAILABLE";
      expect({ what, counts: e.countsAgainstStage }).toEqual({ what, counts: !transport });
      expect(e.code).not.toBe("STAGE_NOT_FOUND");
      expect(e.code).not.toBe("INTERNAL");
    }
  });

  it("trusts the code our own processes send, whatever the status", () => {
    const status = toGrpcStatus(new ConveyorError("STAGE_NOT_FOUND", "no stage 9"));
    expect(fromGrpcError(serviceError(status)).code).toBe("STAGE_NOT_FOUND");
  });

  it("ignores a conveyor-error-code that is not one of ours", () => {
    const metadata = new grpc.Metadata();
    metadata.set("conveyor-error-code", "NOT_A_CODE");
    const e = fromGrpcError(serviceError({ code: grpc.status.UNAVAILABLE, details: "x", metadata }));
    expect(e.code).toBe("PEER_UNAVAILABLE");
  });

  it("asConveyorError keeps a ConveyorError and decodes a ServiceError", () => {
    const original = new ConveyorError("STALE_GENERATION", "generation 3 < 4");
    expect(asConveyorError(original)).toBe(original);
    const decoded = asConveyorError(serviceError(toGrpcStatus(original)));
    expect(decoded.code).toBe("STALE_GENERATION");
  });
});

describe("errorCodeLabel", () => {
  it("keeps our codes and bounds a user stage's own codes to USER_ERROR", () => {
    expect(errorCodeLabel("TIMEOUT")).toBe("TIMEOUT");
    expect(errorCodeLabel("STAGE_FAILED")).toBe("STAGE_FAILED");
    expect(errorCodeLabel("BAD_JSON")).toBe("USER_ERROR");
    expect(errorCodeLabel("customer-42-missing")).toBe("USER_ERROR");
    expect(errorCodeLabel("")).toBe("USER_ERROR");
    expect(errorCodeLabel("constructor")).toBe("USER_ERROR");
  });
});
