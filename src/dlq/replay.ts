/**
 * Replays dead letters: each at the stage that failed it, in batches, through an injector (a
 * sidecar's DataPlane.Inject in the CLI). A batch the injector confirmed is journaled (durably)
 * before the next is sent; a batch it refused is reported failed, record by record, with the reason,
 * and stays unjournaled so a later replay sends it again.
 *
 *   select (filters, ids) ─► skip the journaled (unless again) ─► group by stage ─► batches
 *      ─► inject ─► confirmed: append to <file>.replayed ─► delivered
 *                └► refused: failed (code: message)
 */
import { asConveyorError } from "../errors";
import { deadLetterKey, replayRecordOf, type DeadLetter, type ReplayRecord } from "./dead-letters";
import { appendJournal, type JournalEntry } from "./replay-journal";

export const DEFAULT_REPLAY_BATCH_SIZE = 100;

/** Sends records to `stage`; resolves once they are durable downstream, rejects otherwise. */
export type Injector = (stage: string, records: ReplayRecord[]) => Promise<void>;

export interface ReplayPlan {
  send: DeadLetter[];
  /** Selected but already in a journal (sent again only with `again`). */
  skipped: DeadLetter[];
}

/** Splits a selection into what to send (at most `limit`, in order) and what a journal lists as replayed. */
export function planReplay(
  selected: readonly DeadLetter[],
  replayed: ReadonlySet<string>,
  again: boolean,
  limit = Infinity,
): ReplayPlan {
  const plan: ReplayPlan = { send: [], skipped: [] };
  for (const d of selected) {
    if (!again && replayed.has(deadLetterKey(d))) plan.skipped.push(d);
    else if (plan.send.length < limit) plan.send.push(d);
  }
  return plan;
}

export type ReplayOutcome =
  | { letter: DeadLetter; outcome: "delivered" }
  | { letter: DeadLetter; outcome: "failed"; code: string; reason: string };

export interface ReplayOptions {
  inject: Injector;
  batchSize?: number;
  /** Journal writes; the default appends to `<file>.replayed` beside each dead letter's file. */
  journal?: (deadLetterFile: string, entries: readonly JournalEntry[]) => Promise<void>;
  now?: () => Date;
}

export async function replayDeadLetters(
  letters: readonly DeadLetter[],
  options: ReplayOptions,
): Promise<ReplayOutcome[]> {
  const size = Math.max(1, options.batchSize ?? DEFAULT_REPLAY_BATCH_SIZE);
  const journal = options.journal ?? appendJournal;
  const now = options.now ?? ((): Date => new Date());
  const byStage = new Map<string, DeadLetter[]>();
  for (const d of letters) {
    const group = byStage.get(d.stage);
    if (group) group.push(d);
    else byStage.set(d.stage, [d]);
  }

  const outcomes: ReplayOutcome[] = [];
  for (const [stage, group] of byStage) {
    for (let i = 0; i < group.length; i += size) {
      const batch = group.slice(i, i + size);
      try {
        await options.inject(stage, batch.map(replayRecordOf));
      } catch (err) {
        const e = asConveyorError(err);
        for (const letter of batch)
          outcomes.push({ letter, outcome: "failed", code: e.code, reason: e.message });
        continue;
      }
      const replayedAt = now().toISOString();
      const perFile = new Map<string, JournalEntry[]>();
      for (const d of batch) {
        const entry = { id: d.id, ts: d.ts, replayedAt };
        const entries = perFile.get(d.file);
        if (entries) entries.push(entry);
        else perFile.set(d.file, [entry]);
      }
      for (const [file, entries] of perFile) await journal(file, entries);
      for (const letter of batch) outcomes.push({ letter, outcome: "delivered" });
    }
  }
  return outcomes;
}

/**
 * A replayed record that failed at its stage again is durable in the dead-letter sink, so Inject
 * confirms it: it is a new dead letter naming the one it was replayed from (`_dlq_replayed_from`),
 * found in the files read again after the replay. Such a record is reported failed, with its new error.
 */
export function failedAgain(
  outcomes: readonly ReplayOutcome[],
  after: readonly DeadLetter[],
): ReplayOutcome[] {
  const again = new Map<string, DeadLetter>();
  for (const d of after)
    if (d.replayedFrom !== undefined) again.set(deadLetterKey({ id: d.id, ts: d.replayedFrom }), d);
  return outcomes.map((r) => {
    const d = r.outcome === "delivered" ? again.get(deadLetterKey(r.letter)) : undefined;
    return d
      ? {
          letter: r.letter,
          outcome: "failed",
          code: d.code,
          reason: `dead-lettered again (${d.ts}): ${d.message}`,
        }
      : r;
  });
}
