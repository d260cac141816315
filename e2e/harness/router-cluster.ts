/**
 * Helpers for router-cluster tests: who leads (read from etcd, as a standby
 * would), and the placement history every router logs ("placement committed",
 * one JSON line per commit) with the invariants it must keep.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Etcd3 } from "etcd3";
import type { Commit } from "../../src/testing/placement-history";

export { historyProblems, type Commit } from "../../src/testing/placement-history";

export async function currentLeader(etcd: Etcd3, prefix = "/conveyor/"): Promise<string | undefined> {
  const text = await etcd.get(`${prefix}leader`).string();
  if (text === null) return undefined;
  return (JSON.parse(text) as { address: string }).address;
}

/** Every "placement committed" line of the router logs in `dir` (files router-*.log). */
export function commitHistory(dir: string): Commit[] {
  const out: Commit[] = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith("router") && n.endsWith(".log"))) {
    for (const line of fs.readFileSync(path.join(dir, f), "utf8").split("\n")) {
      if (!line.includes('"placement committed"')) continue;
      const j = JSON.parse(line) as Commit;
      out.push({
        router: j.router,
        revision: j.revision,
        generation: j.generation,
        leaderRevision: j.leaderRevision,
        assignments: j.assignments,
      });
    }
  }
  return out.sort((a, b) => a.revision - b.revision);
}
