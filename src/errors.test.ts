import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import {
  asConveyorError,
  ConveyorError,
  ERROR_CODES,
  fromGrpcError,
  toGrpcStatus,
  type ErrorCode,
} from "./errors";

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

interface DocRow {
  code: string;
  status: string;
  retryable: string;
  meaning: string;
  todo: string;
}

/** Rows of the table in docs/errors.md whose first cell is a `CODE`. */
function documentedRows(): DocRow[] {
  const text = fs.readFileSync(path.join(__dirname, "..", "docs", "errors.md"), "utf8");
  const rows: DocRow[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("|")) continue;
    const cells = line
      .slice(1, line.trimEnd().endsWith("|") ? line.trimEnd().length - 1 : undefined)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    const code = /^`([A-Z0-9_]+)`$/.exec(cells[0] ?? "");
    if (!code) continue;
    const [, status = "", retryable = "", meaning = "", todo = ""] = cells;
    rows.push({ code: code[1], status: status.replace(/`/g, ""), retryable, meaning, todo });
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

  it("is documented in docs/errors.md: one row per code, no code that does not exist", () => {
    const rows = documentedRows();
    const documented = rows.map((r) => r.code);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...CODES].sort());
  });

  it("docs/errors.md states each code's gRPC status and retryability as the table does", () => {
    for (const row of documentedRows()) {
      const entry = ERROR_CODES[row.code as ErrorCode];
      expect({ code: row.code, status: row.status, retryable: row.retryable }).toEqual({
        code: row.code,
        status: grpc.status[entry.status],
        retryable: entry.retryable ? "yes" : "no",
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
    expect(new ConveyorError("CONFIG_INVALID", "x").retryable).toBe(false);
  });

  it("keeps its cause", () => {
    const cause = new Error("ECONNREFUSED");
    expect(new ConveyorError("PEER_UNAVAILABLE", "peer down", {}, { cause }).cause).toBe(cause);
  });
});

describe("toGrpcStatus / fromGrpcError", () => {
  it.each(CODES)("round-trips %s through a gRPC status", (code) => {
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
    for (const thrown of [new TypeError("cannot read properties of undefined"), "a string", 42, undefined]) {
      const status = toGrpcStatus(thrown);
      expect(status.code).toBe(grpc.status.INTERNAL);
      expect(status.details).toMatch(/^INTERNAL: /);
      expect(asConveyorError(thrown).code).toBe("INTERNAL");
    }
    expect(asConveyorError(new Error("boom"), "STAGE_FAILED").code).toBe("STAGE_FAILED");
  });

  it("classes errors from non-Conveyor servers by gRPC status", () => {
    const cases: Array<[grpc.status, ErrorCode]> = [
      [grpc.status.DEADLINE_EXCEEDED, "TIMEOUT"],
      [grpc.status.UNAVAILABLE, "PEER_UNAVAILABLE"],
      [grpc.status.CANCELLED, "PEER_UNAVAILABLE"],
      [grpc.status.RESOURCE_EXHAUSTED, "RECORD_TOO_LARGE"],
      [grpc.status.NOT_FOUND, "STAGE_NOT_FOUND"],
      [grpc.status.INVALID_ARGUMENT, "PROTOCOL_VIOLATION"],
      [grpc.status.UNKNOWN, "INTERNAL"],
      [grpc.status.PERMISSION_DENIED, "INTERNAL"],
    ];
    for (const [status, code] of cases) {
      expect(fromGrpcError(serviceError({ code: status, details: "from elsewhere" })).code).toBe(code);
    }
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
