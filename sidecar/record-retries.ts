/**
 * Per-record retries at one stage (the pipeline's `dlq` block):
 *
 *   attempt(all) ──► ok records done
 *        │
 *        └─ failed ──► retryable and attempts ≤ maxRetries? ──yes──► sleep(backoff + jitter) ──► attempt(failed)
 *                                     │no
 *                                     └──► returned as dead (the caller dead-letters them or stops the stage)
 *
 * Only the failed records are tried again, so one poisoned record never fails
 * its batch-mates. Errors that are not about the records (a service that is
 * down, no route) are not caught here: the attempt rejects and the caller
 * retries the whole batch without counting attempts. Pure logic, no I/O.
 */
import type { RetryPolicy } from "../src/config/pipeline";
import type { Record, RecordError } from "../src/stages/contract";
import { Backoff, sleep as realSleep } from "../src/backoff";
import { plainRecord } from "../src/sdk/wire";

/** One error (or null = done) per record of the batch, in order. */
export type Attempt = (records: Record[]) => Promise<Array<RecordError | null>>;

export interface DeadRecord {
  record: Record;
  error: RecordError;
  /** Attempts made, the first one included. */
  attempts: number;
}

export interface RetryHooks {
  /** Called before each backoff sleep: how many records are retried, and the first failure. */
  onRetry?(info: { retrying: number; attempt: number; delayMs: number; first: DeadRecord }): void;
  sleep?(ms: number): Promise<void>;
}

/** Runs `attempt` until every record succeeded or ran out of retries; resolves with the dead ones. */
export async function retryFailedRecords(
  records: Record[],
  attempt: Attempt,
  policy: RetryPolicy,
  hooks: RetryHooks = {},
): Promise<DeadRecord[]> {
  const sleep = hooks.sleep ?? realSleep;
  const backoff = new Backoff(policy.backoffMs, policy.maxBackoffMs);
  const dead: DeadRecord[] = [];
  let pending = records;
  for (let attempts = 1; pending.length > 0; attempts++) {
    const errors = await attempt(pending);
    const retry: Record[] = [];
    let first: DeadRecord | undefined;
    pending.forEach((record, i) => {
      const error = errors[i];
      if (!error) return;
      const failed = { record, error, attempts };
      first ??= failed;
      if (error.retryable && attempts <= policy.maxRetries) retry.push(record);
      else dead.push(failed);
    });
    if (retry.length === 0 || !first) break;
    const delayMs = backoff.next();
    hooks.onRetry?.({ retrying: retry.length, attempt: attempts, delayMs, first });
    if (delayMs > 0) await sleep(delayMs);
    pending = retry;
  }
  return dead;
}

/** The headers a dead-lettered record carries (the original headers are kept). */
export function deadLetterRecord(dead: DeadRecord, stage: string, nowMs = Date.now()): Record {
  // Fields by name, not `...dead.record`: a routed record's fields are accessors (EncodedRecord).
  return {
    ...plainRecord(dead.record),
    headers: {
      ...dead.record.headers,
      _dlq_error: dead.error.code ? `${dead.error.code}: ${dead.error.message}` : dead.error.message,
      _dlq_stage: stage,
      _dlq_attempts: String(dead.attempts),
      _dlq_ts: new Date(nowMs).toISOString(),
    },
  };
}
