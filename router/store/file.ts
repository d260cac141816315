/**
 * ROUTER_STORE=file:<path>: the whole router state as one JSON file, replaced
 * atomically (write a temp file beside it, fsync, rename over, fsync the
 * directory), so a crash leaves either the old or the new state, never half.
 * A file that cannot be read back is a start-up error naming the file: the
 * router must not silently start from generation 0 and break fencing.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { ConveyorError } from "../../src/errors";
import { writeFileDurably } from "../../src/durable-file";
import { checkRouterState, stateOf } from "./state-check";
import type { RouterState, RouterStore } from "./store";

/** Bumped if the layout ever changes incompatibly. */
const FORMAT_VERSION = 1;

interface FileContent extends RouterState {
  formatVersion: number;
}

export class FileStore implements RouterStore {
  readonly description: string;

  constructor(private readonly file: string) {
    this.description = `file:${file}`;
  }

  async load(): Promise<RouterState | undefined> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw this.corrupt(`cannot be read: ${(err as Error).message}`, err);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw this.corrupt(`is not valid JSON (${(err as Error).message})`, err);
    }
    const problems = checkRouterState(raw, FORMAT_VERSION);
    if (problems.length > 0) throw this.corrupt(`does not hold a router state: ${problems.join("; ")}`);
    const content = raw as FileContent;
    return stateOf(content);
  }

  async save(state: RouterState): Promise<void> {
    const dir = path.dirname(this.file);
    await fsp.mkdir(dir, { recursive: true });
    const content: FileContent = { formatVersion: FORMAT_VERSION, ...state };
    try {
      await writeFileDurably(this.file, JSON.stringify(content, null, 2) + "\n");
    } catch (err) {
      throw new ConveyorError(
        "INTERNAL",
        `could not write router state to ${this.file}: ${(err as Error).message}`,
        { file: this.file },
        { cause: err },
      );
    }
  }

  private corrupt(reason: string, cause?: unknown): ConveyorError {
    return new ConveyorError(
      "CONFIG_INVALID",
      `router state file ${this.file} ${reason}; repair or remove it (removing it resets pipelines and the generation)`,
      { file: this.file },
      { cause },
    );
  }
}
