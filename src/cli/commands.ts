/* eslint-disable @typescript-eslint/no-require-imports -- a command's modules load only when it runs */
/**
 * The CLI's commands by name, each with the one-line summary that `conveyor --help` lists and a loader
 * that requires the command's module only when that command runs: `conveyor --help` loads no command,
 * `conveyor validate` loads no gRPC server, Kafka client, AWS SDK or OpenTelemetry exporter.
 * src/cli/commands.test.ts checks each summary against the command it loads.
 */
import type { Command } from "commander";

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Command;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "router",
    summary:
      "run the router: keeps pipelines, assigns their stages to sidecars over heartbeat streams, serves the Admin API",
    load: () => (require("./commands/router") as typeof import("./commands/router")).routerCommand(),
  },
  {
    name: "sidecar",
    summary:
      "Run a sidecar: discover this pod's stage services, register with the router, move records. Flags override env vars.",
    load: () => (require("./commands/sidecar") as typeof import("./commands/sidecar")).sidecarCommand(),
  },
  {
    name: "validate",
    summary: "check pipeline files without running them",
    load: () => (require("./commands/validate") as typeof import("./commands/validate")).validateCommand(),
  },
  {
    name: "apply",
    summary: "validate a pipeline file (YAML or JSON) and apply it on the router",
    load: () => (require("./commands/apply") as typeof import("./commands/apply")).applyCommand(),
  },
  {
    name: "status",
    summary: "show the router's pipelines, sidecars, stage counters (errors, dead letters) and assignments",
    load: () => (require("./commands/status") as typeof import("./commands/status")).statusCommand(),
  },
  {
    name: "top",
    summary: "live per-stage rates, errors, dead letters, in-flight and p99 (q quits)",
    load: () => (require("./commands/top") as typeof import("./commands/top")).topCommand(),
  },
  {
    name: "demo",
    summary:
      "Start a router and two simulated pods (127.0.0.2, 127.0.0.3) with sample stages, apply a pipeline, and show records flowing across the peer hop into a file. Ctrl-C stops everything.",
    load: () => (require("./commands/demo") as typeof import("./commands/demo")).demoCommand(),
  },
  {
    name: "dlq",
    summary: "dead letters of a builtin: file dead-letter sink (list | show | replay)",
    load: () => (require("./commands/dlq") as typeof import("./commands/dlq")).dlqCommand(),
  },
  {
    name: "mirror",
    summary: "exactly-once Kafka partition mirror (validate | run | status)",
    load: () =>
      (require("../builtins/mirror/cli") as typeof import("../builtins/mirror/cli")).mirrorCommand(),
  },
  {
    name: "relay",
    summary: "relay a Server-Sent-Events stream (e.g. Wikimedia recentchange) to files or Kafka",
    load: () => (require("../builtins/relay/cli") as typeof import("../builtins/relay/cli")).relayCommand(),
  },
  {
    name: "sling",
    summary: "Sling jobs: mission databases → command database (run | noop | backfill | quickstart)",
    load: () => (require("../builtins/sling/cli") as typeof import("../builtins/sling/cli")).slingCommand(),
  },
];

/** The command that `argv` (process.argv: node, script, ...) runs, also for `help <command>`. */
export function requestedCommand(argv: readonly string[]): CommandEntry | undefined {
  const [first, second] = argv.slice(2);
  const name = first === "help" ? second : first;
  return COMMANDS.find((c) => c.name === name);
}
