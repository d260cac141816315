/**
 * Runs one sample stage as its own process (a "user container"):
 *   stage-process.ts <source|keyed-source|transform|sink> --name N --host H --port P [--count N] [--dir D]
 *                    [--id-prefix P] [--delay-ms MS]
 * Prints "ready <address>" on stdout once serving; stops cleanly on SIGTERM.
 */
import { Command, Option } from "commander";
import { exitWithParent, runUntilSignal } from "../cli/signals";
import { serveSampleStage, type SampleKind } from "./sample-stages";

exitWithParent();

const program = new Command("stage-process")
  .argument("<kind>", "source | keyed-source | transform | sink")
  .requiredOption("--name <name>", "Describe() name of the stage")
  .option("--host <host>", "address to bind", "127.0.0.1")
  .requiredOption("--port <port>", "port to bind", Number)
  .option("--count <n>", "source: records to produce (default endless)", Number)
  .option("--payload-bytes <n>", "source: payload size", Number)
  .option("--partitions <n>", "keyed-source: number of partitions", Number)
  .option("--keys <n>", "keyed-source: number of keys", Number)
  .option("--rate <n>", "source: records per second (default unlimited)", Number)
  .option("--id-prefix <prefix>", 'source: record ids are "<prefix>-<i>" (default "gen")')
  .option("--dir <dir>", "sink: output directory; keyed-source: shared state directory", ".")
  .addOption(new Option("--no-fsync", "sink: do not fsync"))
  .option(
    "--stamp-received",
    "sink: add header _received_mono_ns (CLOCK_MONOTONIC at arrival, machine-wide) to each record",
  )
  .option(
    "--stats-file <file>",
    "sink: measure (count, latency) into this JSON file instead of writing records",
  )
  .option(
    "--stats-warmup-records <n>",
    "sink with --stats-file: records kept out of the latency figures",
    Number,
  )
  .option("--delay-ms <ms>", "sink: wait this long before each batch, one batch at a time", Number)
  .action(
    async (
      kind: string,
      o: {
        name: string;
        host: string;
        port: number;
        count?: number;
        payloadBytes?: number;
        partitions?: number;
        keys?: number;
        rate?: number;
        idPrefix?: string;
        dir: string;
        fsync: boolean;
        stampReceived?: boolean;
        statsFile?: string;
        statsWarmupRecords?: number;
        delayMs?: number;
      },
    ) => {
      if (!["source", "keyed-source", "transform", "sink"].includes(kind))
        throw new Error(`unknown kind "${kind}"`);
      const server = await serveSampleStage({ kind: kind as SampleKind, ...o });
      process.stdout.write(`ready ${server.address}\n`);
      await runUntilSignal(() => server.stop(5000));
    },
  );

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`stage-process: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
