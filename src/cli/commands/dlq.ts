/**
 * `conveyor dlq list|show|replay`: dead letters of a `builtin: file` dead-letter sink (docs/dead-letters.md).
 * Reads the sink's NDJSON files (--dir, the sink's config.dir, or --file); lines that are not dead
 * letters are skipped with a warning on stderr naming file and line. `list` and `show` read a line at
 * a time and `list` stops at the end of its page (src/dlq/dead-letter-stream.ts). `replay` re-injects the selected
 * dead letters at the stage that failed them through a sidecar's DataPlane.Inject and journals them in
 * `<file>.replayed`, so a second replay of the same selection sends nothing (unless --again).
 * Exit status: 0 ok; 1 a record failed or any other error; 2 the sidecar cannot be reached.
 */
import { Command, InvalidArgumentError } from "commander";
import { ConveyorError, asConveyorError } from "../../errors";
import {
  loadDeadLetters,
  loadReplayed,
  resolveDeadLetterFiles,
  type LoadedDeadLetters,
} from "../../dlq/dead-letter-files";
import { readDeadLetterPage } from "../../dlq/dead-letter-stream";
import {
  deadLetterJson,
  deadLetterKey,
  parseSince,
  selectDeadLetters,
  type DeadLetter,
  type DeadLetterFilter,
  type ParseWarning,
} from "../../dlq/dead-letters";
import {
  DEFAULT_REPLAY_BATCH_SIZE,
  failedAgain,
  planReplay,
  replayDeadLetters,
  type ReplayOutcome,
} from "../../dlq/replay";
import { stageKindFromProto } from "../../stages/contract";
import type { ClientSecurityConfig } from "../../config/env";
import { clientConnection, withClientSecurity } from "../client-credentials";
import { DataPlaneApi } from "../dataplane-client";
import { formatTable } from "../table";

interface SourceOptions {
  dir?: string;
  file?: string[];
  pipeline?: string;
}

interface FilterOptions {
  stage?: string;
  since?: string;
  error?: string;
  limit?: number;
}

interface ListOptions extends SourceOptions, FilterOptions {
  offset?: number;
  json?: boolean;
}

interface ReplayOptions extends SourceOptions, FilterOptions, ClientSecurityConfig {
  sidecar: string;
  pipeline: string;
  all?: boolean;
  again?: boolean;
  dryRun?: boolean;
  batchSize: number;
  timeoutMs: number;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer");
  return n;
}

function nonNegativeInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number, 0 or more");
  return n;
}

function sourceOptions(cmd: Command, pipeline = true): Command {
  cmd
    .option("--dir <dir>", "the dead-letter sink's config.dir: every <pipeline>-<sidecar>.ndjson in it")
    .option("--file <file>", "a dead-letter file (repeatable)", collect);
  return pipeline ? cmd.option("--pipeline <name>", "with --dir: only this pipeline's files") : cmd;
}

function sourceAndFilterOptions(cmd: Command, pipeline = true): Command {
  return sourceOptions(cmd, pipeline)
    .option("--stage <stage>", "only dead letters of this stage")
    .option("--since <time>", "only dead-lettered since an ISO time or a duration ago (90s, 15m, 2h, 7d)")
    .option("--error <text>", "only dead letters whose error (code: message) contains this text")
    .option("--limit <n>", "at most n dead letters, oldest first", positiveInt);
}

function filterOf(o: FilterOptions, ids: readonly string[] = []): DeadLetterFilter {
  let sinceMs: number | undefined;
  if (o.since !== undefined) {
    sinceMs = parseSince(o.since);
    if (sinceMs === undefined)
      throw new ConveyorError("CONFIG_INVALID", `--since ${o.since}: not an ISO time or a duration like 15m`);
  }
  return { ids, stage: o.stage, sinceMs, error: o.error, limit: o.limit };
}

function filesOf(o: SourceOptions): Promise<string[]> {
  return resolveDeadLetterFiles({ files: o.file, dir: o.dir, pipeline: o.pipeline });
}

/** Reads the dead letters `o` names; the skipped lines are warned about unless `quiet` (a second read). */
async function load(o: SourceOptions, quiet = false): Promise<LoadedDeadLetters> {
  const loaded = await loadDeadLetters(await filesOf(o));
  if (!quiet) warn(loaded.warnings);
  return loaded;
}

/**
 * The dead letters `filter` selects, read a line at a time and no further than its page (offset +
 * limit) needs; the skipped lines read are warned about. Replay reads everything (load()).
 */
async function loadPage(
  o: SourceOptions,
  filter: DeadLetterFilter,
): Promise<{ letters: DeadLetter[]; replayed: ReadonlySet<string> }> {
  const files = await filesOf(o);
  const page = await readDeadLetterPage(files, filter);
  const journals = await loadReplayed(files);
  warn([...page.warnings, ...journals.warnings]);
  return { letters: page.letters, replayed: journals.replayed };
}

function warn(warnings: readonly ParseWarning[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${w.file}:${w.line}: skipped: ${w.reason}\n`);
}

export { deadLetterJson, failedAgain };

function truncate(s: string, max: number): string {
  const flat = s.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function formatDeadLetters(letters: readonly DeadLetter[], replayed: ReadonlySet<string>): string {
  if (letters.length === 0) return "no dead letters\n";
  return formatTable(
    ["ID", "KEY", "STAGE", "CODE", "ERROR", "ATTEMPTS", "TIME", "REPLAYED"],
    letters.map((d) => [
      d.id,
      truncate(d.key, 24) || "-",
      d.stage,
      d.code || "-",
      truncate(d.message, 60),
      String(d.attempts),
      d.ts,
      replayed.has(deadLetterKey(d)) ? "yes" : "-",
    ]),
  );
}

function listCommand(): Command {
  return sourceAndFilterOptions(new Command("list").description("list dead letters"))
    .option("--offset <n>", "skip the first n that match, oldest first (page with --limit)", nonNegativeInt)
    .option("--json", "print a JSON array instead of a table")
    .action(async (o: ListOptions) => {
      const { letters, replayed } = await loadPage(o, { ...filterOf(o), offset: o.offset });
      process.stdout.write(
        o.json
          ? JSON.stringify(
              letters.map((d) => deadLetterJson(d, replayed)),
              null,
              2,
            ) + "\n"
          : formatDeadLetters(letters, replayed),
      );
    });
}

function showCommand(): Command {
  return sourceOptions(
    new Command("show")
      .description("print one dead letter in full (every dead letter with that record id) as JSON")
      .argument("<id>", "the record id"),
  ).action(async (id: string, o: SourceOptions) => {
    // Every dead letter of that id: the whole files, a line at a time, keeping only those.
    const { letters, replayed } = await loadPage(o, { ids: [id] });
    if (letters.length === 0) throw new Error(`no dead letter with id ${id}`);
    for (const d of letters)
      process.stdout.write(JSON.stringify(deadLetterJson(d, replayed), null, 2) + "\n");
  });
}

function replayCommand(): Command {
  return sourceAndFilterOptions(
    withClientSecurity(
      new Command("replay").description(
        "re-inject dead letters at the stage that failed them, through a sidecar's DataPlane.Inject",
      ),
    ),
    false,
  )
    .argument("[ids...]", "record ids to replay (or select with the filters, or --all)")
    .requiredOption("--sidecar <host:port>", "a sidecar's DataPlane address (any sidecar of the pipeline)")
    .requiredOption("--pipeline <name>", "the pipeline the dead letters came from (with --dir: its files)")
    .option("--all", "replay every dead letter not replayed yet")
    .option("--again", "also replay dead letters the journal lists as replayed")
    .option("--dry-run", "print what would be replayed, send nothing")
    .option("--batch-size <n>", "records per Inject call", positiveInt, DEFAULT_REPLAY_BATCH_SIZE)
    .option("--timeout-ms <ms>", "deadline of each Inject call", positiveInt, 30_000)
    .option("--json", "print the outcome as JSON")
    .action(async (ids: string[], o: ReplayOptions) => {
      const filter = filterOf(o, ids);
      const filtered =
        ids.length > 0 || o.stage !== undefined || o.since !== undefined || o.error !== undefined;
      if (!filtered && !o.all)
        throw new Error("say which dead letters: ids, --stage/--since/--error, or --all");
      const loaded = await load(o);
      // --limit counts what is sent: a journaled dead letter does not use up the limit.
      const selected = selectDeadLetters(loaded.letters, { ...filter, limit: undefined });
      const plan = planReplay(selected, loaded.replayed, o.again === true, o.limit);
      if (ids.length > 0)
        for (const d of plan.skipped)
          process.stderr.write(
            `skipped ${d.id} (dead-lettered ${d.ts}): already replayed; --again sends it again\n`,
          );
      else if (plan.skipped.length > 0)
        process.stderr.write(`skipped ${plan.skipped.length} already replayed; --again sends them again\n`);
      if (o.dryRun) {
        for (const d of plan.send) process.stdout.write(`would replay ${d.id} at stage ${d.stage}\n`);
        process.stdout.write(`${plan.send.length} to replay, ${plan.skipped.length} already replayed\n`);
        return;
      }
      if (plan.send.length === 0) {
        process.stdout.write(`nothing to replay (${plan.skipped.length} already replayed)\n`);
        return;
      }
      const api = new DataPlaneApi(o.sidecar, clientConnection(o));
      try {
        await checkStages(api, o.pipeline, plan.send);
        const sent = await replayDeadLetters(plan.send, {
          batchSize: o.batchSize,
          inject: async (stage, records) => {
            await api.inject(o.pipeline, stage, records, o.timeoutMs);
          },
        });
        const outcomes = failedAgain(sent, (await load(o, true)).letters);
        report(outcomes, o.json === true);
        if (outcomes.some((r) => r.outcome === "failed")) process.exitCode = 1;
      } catch (err) {
        const e = asConveyorError(err);
        if (e.code !== "PEER_UNAVAILABLE") throw e;
        process.stderr.write(`conveyor: ${e.message}\n`);
        process.exitCode = 2;
      } finally {
        api.close();
      }
    });
}

/** Every stage to replay at must be a stage of the pipeline on the sidecar's table, and not its source. */
async function checkStages(
  api: DataPlaneApi,
  pipeline: string,
  letters: readonly DeadLetter[],
): Promise<void> {
  const table = await api.getRoutes();
  const route = table.pipelines.find((p) => p.pipeline === pipeline);
  if (!route)
    throw new ConveyorError("PIPELINE_NOT_FOUND", `sidecar ${api.address} has no pipeline "${pipeline}"`);
  for (const stage of new Set(letters.map((d) => d.stage))) {
    const s = route.stages.find((st) => st.name === stage);
    if (!s)
      throw new ConveyorError(
        "STAGE_NOT_FOUND",
        `pipeline "${pipeline}" has no stage "${stage}" (its stages: ${route.stages.map((st) => st.name).join(", ")})`,
      );
    if (stageKindFromProto(s.kind) === "source" || s.index === 0)
      throw new ConveyorError(
        "STAGE_NOT_FOUND",
        `stage "${stage}" is the source; records cannot be injected there`,
      );
  }
}

function report(outcomes: readonly ReplayOutcome[], json: boolean): void {
  const delivered = outcomes.filter((r) => r.outcome === "delivered").length;
  if (json) {
    const rows = outcomes.map((r) =>
      r.outcome === "delivered"
        ? { id: r.letter.id, ts: r.letter.ts, stage: r.letter.stage, outcome: r.outcome }
        : {
            id: r.letter.id,
            ts: r.letter.ts,
            stage: r.letter.stage,
            outcome: r.outcome,
            code: r.code,
            reason: r.reason,
          },
    );
    process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
    return;
  }
  for (const r of outcomes)
    process.stdout.write(
      r.outcome === "delivered"
        ? `delivered ${r.letter.id} at stage ${r.letter.stage}\n`
        : `failed    ${r.letter.id} at stage ${r.letter.stage}: ${r.code}: ${r.reason}\n`,
    );
  process.stdout.write(`${delivered} delivered, ${outcomes.length - delivered} failed\n`);
}

export function dlqCommand(): Command {
  return new Command("dlq")
    .description("dead letters of a builtin: file dead-letter sink (list | show | replay)")
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(replayCommand());
}
