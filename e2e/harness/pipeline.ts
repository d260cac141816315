/** Small helpers for e2e tests: Admin calls, sink files, polling. */
import * as fs from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { deadlineIn, v1 } from "../../src/proto";
import type { NdjsonLine } from "../../src/builtins/file/ndjson-writer";
import type { AdminClient } from "../../src/generated/conveyor/v1/Admin";
import type { SidecarInfo__Output } from "../../src/generated/conveyor/v1/SidecarInfo";
import type { AssignmentInfo__Output } from "../../src/generated/conveyor/v1/AssignmentInfo";

export function adminClient(router: string): AdminClient {
  return new v1.Admin(router, grpc.credentials.createInsecure());
}

export function applyPipeline(admin: AdminClient, definition: string): Promise<void> {
  return new Promise((resolve, reject) =>
    admin.applyPipeline({ definition }, { deadline: deadlineIn(5000) }, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}

export function listAssignments(admin: AdminClient, pipeline: string): Promise<AssignmentInfo__Output[]> {
  return new Promise((resolve, reject) =>
    admin.listAssignments({ pipeline }, { deadline: deadlineIn(5000) }, (err, res) =>
      err || !res ? reject(err) : resolve(res.assignments),
    ),
  );
}

export function listSidecars(admin: AdminClient): Promise<SidecarInfo__Output[]> {
  return new Promise((resolve, reject) =>
    admin.listSidecars({}, { deadline: deadlineIn(5000) }, (err, res) =>
      err || !res ? reject(err) : resolve(res.sidecars),
    ),
  );
}

/**
 * The complete records of an NDJSON sink file. The sink may be appending while
 * a test polls: a last line without its newline is still being written, so it
 * is left for the next read.
 */
export function readSinkFile(file: string): NdjsonLine[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, "utf8").split("\n");
  lines.pop(); // "" after the final newline, or the line still being written
  return lines.filter((l) => l.length > 0).map((l) => JSON.parse(l) as NdjsonLine);
}

export function countLines(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const buf = fs.readFileSync(file);
  let n = 0;
  for (const b of buf) if (b === 0x0a) n++;
  return n;
}

/** Polls `check` every 100 ms until it returns true; fails with `describe()` after timeoutMs. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
