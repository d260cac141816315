/**
 * S3 destination: `s3://<bucket>/<prefix>/<topic or override>/<partition>/{from:020}-{to:020}.ndjson`,
 * the same layout as the filesystem. A segment is one PutObject with
 * `If-None-Match: *`: S3 stores the object whole or not at all and refuses
 * (412 Precondition Failed) when the key exists, so a segment is never
 * replaced; 412 is the EEXIST of the SegmentStore contract. Listing is
 * ListObjectsV2 under the partition's prefix, paginated; the cheap check
 * before each flush lists only the keys after the last segment (StartAfter).
 *
 * Credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY, profile, container or instance role); `endpoint`
 * selects an S3-compatible server and then path-style addressing.
 */
import {
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import type { Segment } from "./chain";
import type { SegmentStore } from "./destination-segments";
import { MirrorError } from "./mirror-error";

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix before `<destination name>/<partition>/` ("" for none; slashes at either end are ignored). */
  prefix: string;
  destinationName: string;
  partition: number;
  endpoint?: string;
  /** Default us-east-1. */
  region?: string;
  /** Per HTTP request (default 30 s); the SDK's own retries sit below the mirror's retry budget. */
  requestTimeoutMs?: number;
}

/** `a/b`, `x`, `0` → `a/b/x/0` (empty parts and stray slashes dropped). */
export function partitionKeyPrefix(prefix: string, destinationName: string, partition: number): string {
  return [...prefix.split("/"), destinationName, String(partition)].filter((p) => p.length > 0).join("/");
}

function httpStatus(err: unknown): number | undefined {
  if (err instanceof S3ServiceException) return err.$metadata.httpStatusCode;
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return meta?.httpStatusCode;
}

/** 4xx answers other than timeouts, throttling and conflicts will not get better by retrying. */
function isPermanent(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && ![408, 409, 429].includes(status);
}

export class S3SegmentStore implements SegmentStore {
  readonly location: string;
  private readonly keyPrefix: string;
  private readonly client: S3Client;

  constructor(private readonly o: S3StoreOptions) {
    this.keyPrefix = partitionKeyPrefix(o.prefix, o.destinationName, o.partition);
    this.location = `s3://${o.bucket}/${this.keyPrefix}`;
    const config: S3ClientConfig = {
      region: o.region ?? "us-east-1",
      maxAttempts: 2, // the mirror retries with its own budget
      requestHandler: { connectionTimeout: 3000, requestTimeout: o.requestTimeoutMs ?? 30_000 },
    };
    if (o.endpoint !== undefined) {
      config.endpoint = o.endpoint;
      config.forcePathStyle = true;
    }
    this.client = new S3Client(config);
  }

  async cleanup(): Promise<void> {
    // A PutObject is atomic: an interrupted one leaves nothing behind.
  }

  async list(after?: string): Promise<string[]> {
    const names: string[] = [];
    const prefix = `${this.keyPrefix}/`;
    let token: string | undefined;
    do {
      const page = await this.call(`list ${this.location}/`, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.o.bucket,
            Prefix: prefix,
            ...(after !== undefined && token === undefined ? { StartAfter: `${prefix}${after}` } : {}),
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const obj of page.Contents ?? []) if (obj.Key) names.push(obj.Key.slice(prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return names;
  }

  async write(segment: Segment, chunks: readonly Buffer[]): Promise<string> {
    const body = Buffer.concat(chunks);
    const key = `${this.keyPrefix}/${segment.name}`;
    try {
      await this.call(`write s3://${this.o.bucket}/${key}`, () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.o.bucket,
            Key: key,
            Body: body,
            IfNoneMatch: "*",
            ContentType: "application/x-ndjson",
          }),
        ),
      );
    } catch (err) {
      if (httpStatus(err) === 412) {
        throw Object.assign(new Error(`s3://${this.o.bucket}/${key} exists (412 Precondition Failed)`), {
          code: "EEXIST",
          cause: err,
        });
      }
      throw err;
    }
    return `s3://${this.o.bucket}/${key}`;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** Names the request in errors; answers that retrying cannot fix become MirrorErrors (412 is left to write). */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const status = httpStatus(err);
      if (status === 412) throw err;
      const name = (err as Error).name;
      const detail = `${name}${status !== undefined ? ` (HTTP ${status})` : ""}: ${(err as Error).message}`;
      if (isPermanent(status)) {
        throw new MirrorError(
          "MIRROR_DESTINATION_UNREACHABLE",
          `cannot ${what}: ${detail}`,
          { destination: this.location, status },
          { cause: err },
        );
      }
      throw new Error(`cannot ${what}: ${detail}`, { cause: err });
    }
  }
}
