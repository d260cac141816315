/**
 * The resume state: the SSE id of the last event whose publish succeeded,
 * kept in one small JSON file ({"lastEventId": "..."}), replaced atomically
 * (write temp, fsync, rename, fsync the directory). The relay saves it only
 * after a publish succeeded, so after a crash (kill -9) it resumes at or
 * before the crash point, never after it: events are replayed, not lost, and
 * the publishers make replays harmless (files: name = identity, no overwrite).
 */
import * as fs from "node:fs/promises";
import { ConveyorError } from "../../errors";
import { writeFileDurably } from "../../durable-file";

export interface RelayState {
  lastEventId: string;
}

export class StateStore {
  constructor(readonly file: string) {}

  /** The saved state, or undefined when there is none yet. A corrupt file is an error, never a silent restart. */
  async load(): Promise<RelayState | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ConveyorError(
        "CONFIG_INVALID",
        `relay state file ${this.file} is not JSON`,
        { file: this.file },
        { cause: err },
      );
    }
    const id = (parsed as Partial<RelayState> | null)?.lastEventId;
    if (typeof id !== "string") {
      throw new ConveyorError("CONFIG_INVALID", `relay state file ${this.file} has no string "lastEventId"`, {
        file: this.file,
      });
    }
    return { lastEventId: id };
  }

  async save(state: RelayState): Promise<void> {
    await writeFileDurably(this.file, `${JSON.stringify({ lastEventId: state.lastEventId })}\n`);
  }
}
