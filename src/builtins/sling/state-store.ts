/**
 * The job's state file (SLING_STATE): per pipeline, what the last run did. Sling's free CLI keeps the
 * incremental position itself (the target table's max update key), so this file is the wrapper's record
 * of progress: it tells `status`-like tooling and operators when each pipeline last succeeded, and
 * backfill clears it together with the target data (full-refresh). Written atomically (temp + rename),
 * after every pipeline, so a killed job leaves the previous pipelines' records intact.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConveyorError } from "../../errors";
import { refuseToDelete } from "./state-path";

export interface PipelineState {
  lastJobId: string;
  lastStatus: string;
  lastRunAt: string;
  lastAttempts: number;
  lastRows: number;
  lastSuccessAt?: string;
  /** Rows moved by every successful run since the state was last cleared. */
  totalRows: number;
}

export interface SlingState {
  version: 1;
  missionClusterId: string;
  pipelines: { [pipeline: string]: PipelineState };
}

export class StateStore {
  /** `file` resolved against the job's working directory: what is read, written and deleted. */
  private readonly absolute: string;

  constructor(
    readonly file: string,
    private readonly cwd = process.cwd(),
  ) {
    this.absolute = path.resolve(cwd, file);
  }

  read(missionClusterId: string): SlingState {
    let text: string;
    try {
      text = fs.readFileSync(this.absolute, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        return { version: 1, missionClusterId, pipelines: {} };
      throw this.error(`cannot read: ${(err as Error).message}`, err);
    }
    try {
      const state = JSON.parse(text) as SlingState;
      if (state.version !== 1 || typeof state.pipelines !== "object" || state.pipelines === null) {
        throw new Error("not a Conveyor Sling state file (version 1)");
      }
      return state;
    } catch (err) {
      throw this.error(`is corrupt (${(err as Error).message}); delete it or run a backfill`, err);
    }
  }

  write(state: SlingState): void {
    const tmp = `${this.absolute}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.absolute), { recursive: true });
      fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
      fs.renameSync(tmp, this.absolute);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw this.error(`cannot write: ${(err as Error).message}`, err);
    }
  }

  /** Deletes the state file (backfill); refuses anything that is not a plain file. */
  clear(): boolean {
    const refused = refuseToDelete(this.file, this.cwd);
    if (refused !== undefined) throw this.error(`backfill refuses to delete it: ${refused}`);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(this.absolute);
    } catch {
      return false; // nothing to clear
    }
    if (!stat.isFile()) throw this.error("backfill refuses to delete it: it is not a regular file");
    fs.unlinkSync(this.absolute);
    return true;
  }

  private error(message: string, cause?: unknown): ConveyorError {
    return new ConveyorError(
      "CONFIG_INVALID",
      `SLING_STATE ${this.file}: ${message}`,
      { file: this.file },
      { cause },
    );
  }
}
