/** The `file` built-in sink: NDJSON per pipeline and sidecar under config.dir. */
import * as path from "node:path";
import type { Record, SinkStage, WriteResult } from "../../stages/contract";
import type { FileSinkConfig } from "./config";
import { NdjsonWriter } from "./ndjson-writer";

export class FileSink implements SinkStage {
  private readonly writer: NdjsonWriter;

  constructor(config: FileSinkConfig, pipeline: string, sidecarId: string) {
    const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, "_");
    this.writer = new NdjsonWriter(
      path.join(config.dir, `${safe(pipeline)}-${safe(sidecarId)}.ndjson`),
      config.fsync ?? true,
    );
  }

  get file(): string {
    return this.writer.file;
  }

  async write(records: Record[]): Promise<WriteResult[]> {
    await this.writer.append(records);
    return records.map((r) => ({ id: r.id, error: null }));
  }

  close(): void {
    void this.writer.close();
  }
}
