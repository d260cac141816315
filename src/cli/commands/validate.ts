/**
 * `conveyor validate <file|dir...>`: lints pipeline definitions without running
 * them, with the same loader the router uses (src/config/pipeline.ts), and
 * reports every problem of every file at once.
 *
 *   OK: examples/pipelines/demo.yaml: pipeline demo (3 stages)    → stdout
 *   INVALID: bad.yaml                                              → stderr
 *     - /steps/0: unknown field "colour"
 *   1 valid, 1 invalid                                             → stdout
 *
 * Exit status 1 when any file is invalid or a path does not exist.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { loadPipelines, pipelineFilesIn, pipelineStages } from "../../config/pipeline";
import { ConveyorError } from "../../errors";

export interface ValidPipeline {
  source: string;
  name: string;
  stages: number;
}

export interface InvalidPipeline {
  source: string;
  problems: string[];
}

export interface ValidateReport {
  valid: ValidPipeline[];
  invalid: InvalidPipeline[];
}

interface ValidateOptions {
  json?: boolean;
}

/** The problems an error from the loader carries, without the `<file>: ` prefix of its message. */
function problemsOf(err: ConveyorError, source: string): string[] {
  const listed = err.details.problems;
  if (Array.isArray(listed) && listed.every((p): p is string => typeof p === "string") && listed.length > 0) {
    return listed;
  }
  const prefix = `${source}: `;
  return [err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message];
}

type Target = { file: string } | InvalidPipeline;

/** Expands the arguments, in order, into pipeline files; a missing path or an empty directory is a problem. */
function targets(paths: string[]): Target[] {
  const out: Target[] = [];
  const seen = new Set<string>();
  const add = (file: string): void => {
    const key = path.resolve(file);
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ file });
  };
  for (const p of paths) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(p);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      out.push({ source: p, problems: [e.code === "ENOENT" ? "no such file or directory" : e.message] });
      continue;
    }
    if (!stat.isDirectory()) {
      add(p);
      continue;
    }
    const inDir = pipelineFilesIn(p);
    if (inDir.length === 0) {
      out.push({ source: p, problems: ["directory has no pipeline files (*.yaml, *.yml, *.json)"] });
    }
    inDir.forEach(add);
  }
  return out;
}

/**
 * Validates files and directories (every *.yaml, *.yml, *.json in name order).
 * Pipeline names must be unique across everything validated together, as they
 * must be in a router's PIPELINES_DIR: the first file in order keeps the name.
 */
export function validatePaths(paths: string[], env: NodeJS.ProcessEnv = process.env): ValidateReport {
  const report: ValidateReport = { valid: [], invalid: [] };
  const nameOwner = new Map<string, string>();
  for (const target of targets(paths)) {
    if (!("file" in target)) {
      report.invalid.push(target);
      continue;
    }
    const { file } = target;
    let result: ReturnType<typeof loadPipelines>;
    try {
      result = loadPipelines(file, env);
    } catch (err) {
      // Not a ConveyorError: the file could not be read (permissions, a socket, ...).
      report.invalid.push({ source: file, problems: [err instanceof Error ? err.message : String(err)] });
      continue;
    }
    const problems = result.errors.flatMap((e) => problemsOf(e, file));
    for (const spec of result.pipelines) {
      const owner = nameOwner.get(spec.name);
      if (owner !== undefined) {
        problems.push(`pipeline name "${spec.name}" is already used by ${owner}`);
        continue;
      }
      nameOwner.set(spec.name, file);
      if (problems.length === 0) {
        // The dead-letter sink is planned as a stage but is not one of the pipeline's steps.
        const stages = pipelineStages(spec).filter((s) => !s.deadLetter).length;
        report.valid.push({ source: file, name: spec.name, stages });
      }
    }
    if (problems.length > 0) report.invalid.push({ source: file, problems });
  }
  return report;
}

function indent(text: string): string {
  return text.replace(/\n/g, "\n    ");
}

export function validateCommand(): Command {
  return new Command("validate")
    .summary("check pipeline files without running them")
    .description(
      "check pipeline files (YAML or JSON) without running them: schema, unknown fields, built-ins " +
        "and their config, stage names, ${VAR} / ${VAR:-default} interpolation from the environment",
    )
    .argument("<paths...>", "pipeline files, or directories whose *.yaml, *.yml and *.json files are checked")
    .option("--json", "print {valid: [...], invalid: [{source, problems}]} on stdout instead of text")
    .addHelpText(
      "after",
      [
        "",
        "Pipeline names must be unique across all the files given (as in the router's PIPELINES_DIR).",
        "Exit status: 0 when every file is valid; 1 when a file is invalid or a path does not exist.",
        "",
        "Examples:",
        "  $ conveyor validate examples/pipelines",
        "  $ OUT_DIR=/data/out conveyor validate --json pipelines/orders.yaml",
      ].join("\n"),
    )
    .action(function (this: Command, paths: string[], options: ValidateOptions) {
      const out = this.configureOutput();
      const writeOut = (s: string): void => (out.writeOut ?? ((t: string) => process.stdout.write(t)))(s);
      const writeErr = (s: string): void => (out.writeErr ?? ((t: string) => process.stderr.write(t)))(s);

      const report = validatePaths(paths);
      if (options.json) {
        writeOut(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        for (const v of report.valid) writeOut(`OK: ${v.source}: pipeline ${v.name} (${v.stages} stages)\n`);
        for (const inv of report.invalid) {
          writeErr(`INVALID: ${inv.source}\n${inv.problems.map((p) => `  - ${indent(p)}\n`).join("")}`);
        }
        writeOut(`${report.valid.length} valid, ${report.invalid.length} invalid\n`);
      }
      if (report.invalid.length > 0) {
        const where = options.json ? "" : " (see above)";
        this.error(`conveyor validate: ${report.invalid.length} invalid${where}`, {
          exitCode: 1,
          code: "conveyor.validate.invalid",
        });
      }
    });
}
