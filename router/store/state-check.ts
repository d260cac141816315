/** Shape checks for a stored router state (file and etcd stores): every problem, not just the first. */
import type { RouterState, StoredAssignment, StoredHandoff, StoredPipeline, StoredTable } from "./store";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

/** Every reason parsed JSON is not a stored router state of this format (empty when it is). */
export function checkRouterState(raw: unknown, formatVersion: number): string[] {
  if (!isObject(raw)) return ["the top level is not an object"];
  const problems: string[] = [];
  if (raw.formatVersion !== formatVersion)
    problems.push(`formatVersion is ${JSON.stringify(raw.formatVersion)}, expected ${formatVersion}`);
  if (!isCount(raw.generation)) problems.push("generation is not a non-negative integer");
  if (!Array.isArray(raw.pipelines)) problems.push("pipelines is not an array");
  else
    raw.pipelines.forEach(
      (p, i) => isPipeline(p) || problems.push(`pipelines[${i}] needs string name and definition`),
    );
  if (!Array.isArray(raw.assignments)) problems.push("assignments is not an array");
  else raw.assignments.forEach((a, i) => isAssignment(a) || problems.push(`assignments[${i}] is malformed`));
  if (raw.handoffs !== undefined) {
    if (!Array.isArray(raw.handoffs)) problems.push("handoffs is not an array");
    else raw.handoffs.forEach((h, i) => isHandoff(h) || problems.push(`handoffs[${i}] is malformed`));
  }
  if (raw.table !== undefined && !isTable(raw.table))
    problems.push(
      "table needs table.version, table.generation, table.pipelines[] and stamps[] of {id, key, generation}",
    );
  return problems;
}

function isPipeline(p: unknown): p is StoredPipeline {
  return isObject(p) && typeof p.name === "string" && typeof p.definition === "string";
}

function isAssignment(a: unknown): a is StoredAssignment {
  return (
    isObject(a) &&
    typeof a.pipeline === "string" &&
    typeof a.stage === "string" &&
    isCount(a.stageIndex) &&
    typeof a.sidecarId === "string" &&
    Array.isArray(a.partitions) &&
    a.partitions.every((p) => Number.isInteger(p)) &&
    isCount(a.generation)
  );
}

function isHandoff(h: unknown): h is StoredHandoff {
  return (
    isObject(h) &&
    typeof h.pipeline === "string" &&
    typeof h.stage === "string" &&
    Number.isInteger(h.partition) &&
    (h.partition as number) >= -1 &&
    typeof h.from === "string" &&
    typeof h.to === "string"
  );
}

function isTable(t: unknown): t is StoredTable {
  return (
    isObject(t) &&
    isObject(t.table) &&
    isCount(t.table.version) &&
    isCount(t.table.generation) &&
    Array.isArray(t.table.pipelines) &&
    Array.isArray(t.stamps) &&
    t.stamps.every(
      (s) => isObject(s) && typeof s.id === "string" && typeof s.key === "string" && isCount(s.generation),
    )
  );
}

/** The router state of a checked record, without the store's own keys (formatVersion). */
export function stateOf(checked: RouterState): RouterState {
  const { generation, pipelines, assignments, handoffs, table } = checked;
  return {
    generation,
    pipelines,
    assignments,
    ...(handoffs !== undefined ? { handoffs } : {}),
    ...(table !== undefined ? { table } : {}),
  };
}
