/**
 * The console's dead letters: read from the pipeline's `builtin: file` dead-letter sink (its
 * config.dir, as the router sees it: the router must share that directory with the sidecars that
 * run the sink, else the console says it cannot read them) and replayed with src/dlq — at the stage
 * that failed each, through a live sidecar's DataPlane.Inject, journaled so a second replay sends
 * nothing — exactly what `conveyor dlq replay` does.
 */
import * as grpc from "@grpc/grpc-js";
import {
  loadDeadLetters,
  loadReplayed,
  resolveDeadLetterFiles,
  type LoadedDeadLetters,
} from "../../src/dlq/dead-letter-files";
import { readDeadLetterPage } from "../../src/dlq/dead-letter-stream";
import { deadLetterJson, selectDeadLetters } from "../../src/dlq/dead-letters";
import { failedAgain, planReplay, replayDeadLetters } from "../../src/dlq/replay";
import { ConveyorError, fromGrpcError } from "../../src/errors";
import type { DataPlaneClient } from "../../src/generated/conveyor/v1/DataPlane";
import { CHANNEL_OPTIONS, deadlineIn, v1 } from "../../src/proto";
import type { PipelineView } from "../scheduler";
import type { ConsoleDeadLetters, ConsoleReplayResult } from "./api-types";

export const REPLAY_TIMEOUT_MS = 30_000;

/** The dead-letter sink's directory, or why the console cannot read this pipeline's dead letters. */
export function deadLetterDir(view: PipelineView): { dir: string } | { unavailable: string } {
  const sink = view.placement.stages.find((s) => s.deadLetter);
  if (!sink) return { unavailable: `pipeline "${view.name}" has no dead-letter sink` };
  if (sink.builtin !== "file")
    return {
      unavailable: `the dead-letter sink of "${view.name}" is ${sink.builtin ? `builtin: ${sink.builtin}` : "a user service"}; the console reads only a builtin: file sink`,
    };
  const dir = sink.config?.dir;
  if (typeof dir !== "string" || dir === "")
    return { unavailable: `the dead-letter file sink of "${view.name}" has no config.dir` };
  return { dir };
}

/** The pipeline's dead-letter files as the router sees them ([] before the sink wrote any), or why not. */
async function filesOf(view: PipelineView): Promise<{ dir: string; files?: string[]; unavailable?: string }> {
  const where = deadLetterDir(view);
  if ("unavailable" in where) return { dir: "", unavailable: where.unavailable };
  try {
    return { dir: where.dir, files: await resolveDeadLetterFiles({ dir: where.dir, pipeline: view.name }) };
  } catch (err) {
    const message = (err as Error).message;
    // No file yet is no dead letter yet.
    if (/^no dead-letter files/.test(message)) return { dir: where.dir, files: [] };
    return { dir: where.dir, unavailable: cannotRead(where.dir, message) };
  }
}

function cannotRead(dir: string, message: string): string {
  return `the router cannot read the dead letters: ${message} (the file sink writes on the machine of the sidecar that runs it; share the directory with the router, or run \`conveyor dlq list --dir ${dir}\` there)`;
}

/** Every dead letter, read whole: replay needs them all. */
async function load(
  view: PipelineView,
): Promise<{ dir: string; loaded?: LoadedDeadLetters; unavailable?: string }> {
  const { dir, files, unavailable } = await filesOf(view);
  if (!files) return { dir, unavailable };
  try {
    return { dir, loaded: await loadDeadLetters(files) };
  } catch (err) {
    return { dir, unavailable: cannotRead(dir, (err as Error).message) };
  }
}

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

export interface DeadLetterPage {
  stage?: string;
  offset: number;
  limit: number;
}

/**
 * After its page, a request reads on (counting `total`) until it read this much in all: below it the
 * total is exact, as it is for any pipeline whose dead letters fit; above it a page still costs
 * about this, however large the files (totalExact false then).
 */
export const COUNT_BYTES = 1024 * 1024;

/** One page of the dead letters (oldest first), read a line at a time, and how many match. */
export async function listDeadLetters(view: PipelineView, page: DeadLetterPage): Promise<ConsoleDeadLetters> {
  const { offset, limit } = page;
  const { dir, files, unavailable } = await filesOf(view);
  const none = { pipeline: view.name, dir, total: 0, totalExact: true, offset, limit, letters: [] };
  if (!files) return { ...none, unavailable };
  try {
    const read = await readDeadLetterPage(
      files,
      { stage: page.stage, offset, limit },
      { countBytes: COUNT_BYTES },
    );
    const { replayed } = await loadReplayed(files);
    return {
      pipeline: view.name,
      dir,
      total: read.total,
      totalExact: read.complete,
      offset,
      limit,
      letters: read.letters.map((d) => deadLetterJson(d, replayed)),
    };
  } catch (err) {
    return { ...none, unavailable: cannotRead(dir, (err as Error).message) };
  }
}

export interface ReplayRequest {
  /** Record ids to replay; empty with `all` = every dead letter not replayed yet. */
  ids: string[];
  stage?: string;
  all: boolean;
}

export async function replayFromConsole(
  view: PipelineView,
  req: ReplayRequest,
  sidecar: { id: string; peerAddress: string },
): Promise<ConsoleReplayResult> {
  if (req.ids.length === 0 && !req.all && req.stage === undefined)
    throw new ConveyorError("CONFIG_INVALID", "say which dead letters to replay: ids, a stage, or all");
  const { loaded, unavailable } = await load(view);
  if (!loaded) throw new ConveyorError("CONFIG_INVALID", unavailable ?? "dead letters unavailable");
  const selected = selectDeadLetters(loaded.letters, { ids: req.ids, stage: req.stage });
  const plan = planReplay(selected, loaded.replayed, false);
  const stages = new Set(view.placement.stages.filter((s) => s.index > 0).map((s) => s.name));
  for (const d of plan.send)
    if (!stages.has(d.stage))
      throw new ConveyorError(
        "STAGE_NOT_FOUND",
        `pipeline "${view.name}" has no stage "${d.stage}" to replay at`,
      );
  const client: DataPlaneClient = new v1.DataPlane(
    sidecar.peerAddress,
    grpc.credentials.createInsecure(),
    CHANNEL_OPTIONS,
  );
  try {
    const sent = await replayDeadLetters(plan.send, {
      inject: (stage, records) =>
        new Promise<void>((resolve, reject) =>
          client.Inject(
            { pipeline: view.name, stage, records },
            { deadline: deadlineIn(REPLAY_TIMEOUT_MS) },
            (err) => (err ? reject(fromGrpcError(err)) : resolve()),
          ),
        ),
    });
    const after = await load(view);
    const outcomes = failedAgain(sent, after.loaded?.letters ?? []);
    return {
      sidecar: sidecar.id,
      skipped: plan.skipped.length,
      outcomes: outcomes.map((r) =>
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
      ),
    };
  } finally {
    client.close();
  }
}
