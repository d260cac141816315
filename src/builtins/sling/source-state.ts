/**
 * The Sling source's acked cursor: one small JSON file per stream in the state directory
 * ({"version":1,"updateKey":"id","cursor":"42"}), replaced atomically (write temp, fsync, rename, fsync
 * the directory), so after a crash the next reader resumes after the last acked batch, never later.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { ConveyorError } from "../../errors";
import { writeFileDurably } from "../../durable-file";
import { decodeCursor } from "./source-rows";

export interface SlingSourceState {
  version: 1;
  updateKey: string;
  cursor: string;
}

/** The state file of a stream: one per (connection, stream, update key) in the state directory. */
export function slingSourceStateFile(
  stateDir: string,
  config: { connection: string; stream: string; updateKey: string },
): string {
  const id = createHash("sha256")
    .update(JSON.stringify([config.connection, config.stream.trim(), config.updateKey]))
    .digest("hex")
    .slice(0, 16);
  return path.join(stateDir, `sling-source-${id}.state.json`);
}

export class SlingSourceStateStore {
  constructor(readonly file: string) {}

  /** The acked cursor, or undefined when there is none yet. A corrupt file is an error, never a restart. */
  async load(): Promise<string | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    try {
      const state = JSON.parse(text) as Partial<SlingSourceState> | null;
      if (state?.version !== 1 || typeof state.cursor !== "string") throw new Error("no version 1 cursor");
      decodeCursor(state.cursor);
      return state.cursor;
    } catch (err) {
      throw new ConveyorError(
        "CONFIG_INVALID",
        `sling source state file ${this.file} is corrupt (${(err as Error).message}); delete it to read the stream from the start`,
        { file: this.file },
        { cause: err },
      );
    }
  }

  async save(updateKey: string, cursor: string): Promise<void> {
    const state: SlingSourceState = { version: 1, updateKey, cursor };
    await writeFileDurably(this.file, `${JSON.stringify(state)}\n`);
  }
}
