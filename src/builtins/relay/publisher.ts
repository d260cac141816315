/**
 * What the relay publishes and the contract every publisher implements.
 * The relay saves the resume id of an event only after its publish resolved
 * (and every earlier one did), so a publisher must make the event durable
 * before resolving. A replayed event is a no-op ("duplicate") for the file
 * publisher; Kafka has no dedupe store and republishes it (see docs/relay.md).
 */
import { createHash } from "node:crypto";

export interface RelayEvent {
  /** The event's own SSE `id:` field, when it had one. */
  id: string | undefined;
  /** The SSE last event id after this event (what a reconnect sends as Last-Event-ID). */
  lastEventId: string;
  type: string;
  /** The event's `data` (for recentchange: one JSON object). */
  data: string;
  /** Date.now() when the event was parsed. */
  receivedAtMs: number;
}

export type PublishOutcome = "written" | "duplicate";

export interface Publisher {
  readonly kind: PublisherKind;
  /**
   * How many publishes the relay may have outstanding at once (default 1: one
   * at a time). With more than 1, publish() calls overlap and the publisher
   * may batch them; the relay saves an id only once that event and every
   * earlier one resolved, and after a failure replays from there, so events
   * published after a failed one come again (files: duplicates, skipped;
   * Kafka fails them all instead, to keep each key's order).
   */
  readonly maxPending?: number;
  /** Prepares the destination (directories, connections). */
  open(): Promise<void>;
  /** Resolves when the event is durable (or was already there); rejects when it is not. */
  publish(event: RelayEvent): Promise<PublishOutcome>;
  close(): Promise<void>;
  /**
   * The resume id the destination itself shows (Kafka: the topic's newest record), for a start without
   * local state; undefined when it has none. Rejects when the destination cannot be read.
   */
  lastPublishedId?(): Promise<string | undefined>;
}

export type PublisherKind = "file" | "kafka";

/** The event's data as a JSON object, or undefined when it is not one. */
export function dataObject(event: RelayEvent): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(event.data);
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function metaField(event: RelayEvent, field: "id" | "dt" | "domain"): string | undefined {
  const meta = dataObject(event)?.meta;
  if (meta === null || typeof meta !== "object") return undefined;
  const value = (meta as Record<string, unknown>)[field];
  return typeof value === "string" && value !== "" ? value : undefined;
}

export type IdentitySource = "id" | "meta" | "data";

/**
 * The stable identity of an event: its own SSE id, else the data's `meta.id`,
 * else (no identity at all) a hash of the data itself.
 */
export function eventIdentity(event: RelayEvent): { source: IdentitySource; value: string } {
  if (event.id !== undefined && event.id !== "") return { source: "id", value: event.id };
  const metaId = metaField(event, "id");
  if (metaId !== undefined) return { source: "meta", value: metaId };
  return { source: "data", value: sha256(event.data) };
}

/**
 * The partitioning key of an event: its wiki (`data.wiki`, else
 * `meta.domain`) so that one wiki's events keep their order on one
 * partition while wikis spread over partitions; else its identity.
 */
export function eventKey(event: RelayEvent): string {
  const data = dataObject(event);
  const wiki = data?.wiki;
  if (typeof wiki === "string" && wiki !== "") return wiki;
  const domain = metaField(event, "domain");
  if (domain !== undefined) return domain;
  return eventIdentity(event).value;
}

/** The event time from `meta.dt` in ms since the epoch, when present and valid. */
export function eventTimeMs(event: RelayEvent): number | undefined {
  const dt = metaField(event, "dt");
  const ms = dt === undefined ? NaN : Date.parse(dt);
  return Number.isFinite(ms) ? ms : undefined;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
