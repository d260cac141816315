/**
 * Resuming from the Kafka topic itself, as pleiades does, when no local state says where to: the last
 * record of every partition is read, and the newest of them names the resume id (Last-Event-ID).
 *
 *   admin: fetchTopicOffsets ─▶ partitions with records: offset high-1
 *   consumer (a throwaway group, nothing committed): seek each to high-1 ─▶ first record of each
 *   newestResumeId: resume id = header relay-resume-id, else relay-event-id, else (a topic pleiades
 *     wrote) the key when it is an SSE id; newest by the timestamp in the id (Wikimedia ids carry one,
 *     as pleiades read them), else by the record timestamp (meta.dt)
 *
 * Exactness: the local state file is saved only for events acked in order; the topic's newest record is
 * the newest one acked, so events that were in flight on another partition when the previous process
 * died may be skipped. The state file (on a volume) stays the exact way; this one beats starting at "now".
 */
import type { Kafka, KafkaMessage } from "kafkajs";

export const EVENT_ID_HEADER = "relay-event-id";
export const EVENT_TYPE_HEADER = "relay-event-type";
/** Set when an event's resume id (its SSE last event id) is not its relay-event-id (it had no id: field). */
export const RESUME_ID_HEADER = "relay-resume-id";

/** What the resume decision needs of one record. */
export interface LastRecord {
  partition: number;
  key: string | undefined;
  headers: { [name: string]: string | undefined };
  timestampMs: number;
}

const ID_TIMESTAMP = /"timestamp":\s*([0-9]+)/;

function resumeIdOf(r: LastRecord): string | undefined {
  const header = r.headers[RESUME_ID_HEADER] ?? r.headers[EVENT_ID_HEADER];
  if (header !== undefined) return header;
  // pleiades' records: key = the SSE id (a JSON array of topic/partition/timestamp or offset objects).
  if (r.key !== undefined && /^\s*[[{]/.test(r.key)) return r.key;
  return undefined;
}

/** The resume id of the newest record, or undefined when none names one. Pure. */
export function newestResumeId(records: readonly LastRecord[]): string | undefined {
  const candidates = records
    .map((r) => {
      const id = resumeIdOf(r);
      const ts = id === undefined ? undefined : ID_TIMESTAMP.exec(id)?.[1];
      return { id, idTime: ts === undefined ? undefined : Number(ts), time: r.timestampMs };
    })
    .filter((c): c is { id: string; idTime: number | undefined; time: number } => c.id !== undefined);
  if (candidates.length === 0) return undefined;
  const byIdTime = candidates.every((c) => c.idTime !== undefined);
  let newest = candidates[0];
  for (const c of candidates.slice(1)) {
    if (byIdTime ? c.idTime! > newest.idTime! : c.time > newest.time) newest = c;
  }
  return newest.id;
}

function text(v: Buffer | string | null | undefined): string | undefined {
  if (v === null || v === undefined) return undefined;
  return typeof v === "string" ? v : v.toString("utf8");
}

function lastRecord(partition: number, m: KafkaMessage): LastRecord {
  const headers: LastRecord["headers"] = {};
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    headers[name] = text(Array.isArray(value) ? (value as Array<Buffer | string>)[0] : value);
  }
  return { partition, key: text(m.key), headers, timestampMs: Number(m.timestamp) };
}

/**
 * The last record of every partition of `topic` that has one; [] for an empty or missing topic.
 * Rejects when Kafka does not answer within `timeoutMs`.
 */
export async function readLastRecords(
  kafka: Kafka,
  topic: string,
  timeoutMs = 30_000,
): Promise<LastRecord[]> {
  const admin = kafka.admin();
  let offsets: Array<{ partition: number; high: string; low: string }>;
  await admin.connect();
  try {
    offsets = await admin.fetchTopicOffsets(topic);
  } catch (err) {
    if ((err as { type?: string }).type === "UNKNOWN_TOPIC_OR_PARTITION") return [];
    throw err;
  } finally {
    await admin.disconnect();
  }
  const wanted = new Map(
    offsets
      .filter((o) => Number(o.high) > Number(o.low))
      .map((o) => [o.partition, Number(o.high) - 1] as const),
  );
  if (wanted.size === 0) return [];
  const consumer = kafka.consumer({
    groupId: `conveyor-relay-resume-${process.pid}-${Math.random().toString(36).slice(2, 10)}`,
  });
  const found = new Map<number, LastRecord>();
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    const done = new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `reading the last record of ${wanted.size} partition(s) of ${topic} took over ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const at = wanted.get(partition);
          if (at === undefined || found.has(partition) || Number(message.offset) < at) return;
          found.set(partition, lastRecord(partition, message));
          if (found.size === wanted.size) resolve();
        },
      });
    });
    for (const [partition, offset] of wanted) consumer.seek({ topic, partition, offset: String(offset) });
    await done;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
  }
  return [...found.values()];
}
