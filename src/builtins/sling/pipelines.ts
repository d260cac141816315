/**
 * The pipelines of a job: SLING_CONFIG's one replication file, or every `*.yaml` / `*.yml` file directly
 * in PIPELINE_DIR, in name order (so `10-x.yaml` runs before `20-y.yml`). A pipeline's name is its file
 * name without the extension; it labels spans, logs, metrics and the state file, so two files with one
 * name (`a.yaml` + `a.yml`) are refused.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConveyorError } from "../../errors";
import type { PipelineSource } from "./job-config";

export interface PipelineFile {
  name: string;
  file: string;
}

const EXTENSION = /\.ya?ml$/i;

export function pipelineName(file: string): string {
  return path.basename(file).replace(EXTENSION, "");
}

function invalid(message: string, details: Record<string, unknown>): ConveyorError {
  return new ConveyorError("CONFIG_INVALID", message, { ...details, problems: [message] });
}

export function listPipelines(source: PipelineSource): PipelineFile[] {
  if (source.kind === "file") {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(source.file);
    } catch {
      throw invalid(`SLING_CONFIG: replication file ${source.file} does not exist`, { file: source.file });
    }
    if (!stat.isFile()) {
      throw invalid(`SLING_CONFIG: ${source.file} is not a file (use PIPELINE_DIR for a directory)`, {
        file: source.file,
      });
    }
    return [{ name: pipelineName(source.file), file: source.file }];
  }
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(source.dir, { withFileTypes: true });
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : (err as Error).message;
    throw invalid(
      source.defaulted
        ? `no pipelines: set SLING_CONFIG (one replication file) or PIPELINE_DIR; the default ${source.dir} ${why}`
        : `PIPELINE_DIR: ${source.dir} ${why}`,
      { dir: source.dir },
    );
  }
  const files = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && EXTENSION.test(e.name) && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
  if (files.length === 0) {
    throw invalid(`PIPELINE_DIR: ${source.dir} has no Sling replication files (*.yaml, *.yml)`, {
      dir: source.dir,
    });
  }
  const byName = new Map<string, string>();
  for (const f of files) {
    const name = pipelineName(f);
    const other = byName.get(name);
    if (other !== undefined) {
      throw invalid(
        `PIPELINE_DIR: ${other} and ${f} in ${source.dir} are both pipeline "${name}": rename one`,
        {
          dir: source.dir,
        },
      );
    }
    byName.set(name, f);
  }
  return files.map((f) => ({ name: pipelineName(f), file: path.join(source.dir, f) }));
}
