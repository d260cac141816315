/** The placement history of a router cluster (one entry per commit, from the routers' logs) and its invariants. */

export interface Commit {
  router: string;
  revision: number;
  generation: number;
  leaderRevision: number;
  assignments: string[];
}

/**
 * What the history must show (empty when it does): one commit per revision;
 * generations never go down; terms never interleave (no commit of an older
 * leader after a newer leader's); and no stage unit held by two sidecars in
 * the same generation.
 */
export function historyProblems(commits: Commit[]): string[] {
  const problems: string[] = [];
  const holders = new Map<string, string>();
  for (let i = 0; i < commits.length; i++) {
    const c = commits[i]!;
    const prev = commits[i - 1];
    if (prev !== undefined) {
      if (prev.revision === c.revision) problems.push(`two commits at revision ${c.revision}`);
      if (c.generation < prev.generation)
        problems.push(`generation went down at revision ${c.revision}: ${prev.generation} → ${c.generation}`);
      if (c.leaderRevision < prev.leaderRevision)
        problems.push(
          `revision ${c.revision} was committed by an older leader (${c.router}, term ${c.leaderRevision}) after term ${prev.leaderRevision}`,
        );
    }
    for (const a of c.assignments) {
      const m = /^(.+)@([^[]+)\[(.*)\]$/.exec(a);
      if (!m) {
        problems.push(`unparsable assignment ${a}`);
        continue;
      }
      const [, stage, sidecar, partitions] = m;
      for (const unit of partitions === "" ? ["*"] : partitions!.split(",")) {
        const key = `${c.generation} ${stage}[${unit}]`;
        const held = holders.get(key);
        if (held !== undefined && held !== sidecar)
          problems.push(`generation ${c.generation}: ${stage}[${unit}] held by ${held} and ${sidecar}`);
        holders.set(key, sidecar!);
      }
    }
  }
  return problems;
}
