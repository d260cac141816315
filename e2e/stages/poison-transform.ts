/**
 * A transform for the dead-letter e2e test, run as its own process:
 *   poison-transform.ts --name N --host H --port P --fail-log FILE
 * Records whose generator index i has i % 10 === 3 fail retryably every time;
 * i % 50 === 7 fail non-retryably. Every failure is appended to FILE as
 * {"id","t"} so the test can check the retry count and the backoff between attempts.
 * With --healed-when FILE, nothing fails once FILE exists (the "fixed" transform of a replay test).
 * With --by-header, the record's `poison` header decides instead of its index: `once` fails retryably
 * the first time a record id is seen, `fatal` fails non-retryably, anything else passes (the tracing test).
 */
import * as fs from "node:fs";
import { Command } from "commander";
import { exitWithParent, runUntilSignal } from "../../src/cli/signals";
import { serveTransform, StageError } from "../../src/sdk";
import type { Record } from "../../src/stages/contract";

function poisonOf(index: number): "retryable" | "fatal" | undefined {
  if (index % 10 === 3) return "retryable";
  if (index % 50 === 7) return "fatal";
  return undefined;
}

const seen = new Set<string>();

function poisonByHeader(r: Record): "retryable" | "fatal" | undefined {
  const poison = r.headers.poison;
  if (poison === "fatal") return "fatal";
  if (poison !== "once" || seen.has(r.id)) return undefined;
  seen.add(r.id);
  return "retryable";
}

exitWithParent();

const program = new Command("poison-transform")
  .requiredOption("--name <name>", "Describe() name")
  .requiredOption("--host <host>", "address to bind")
  .requiredOption("--port <port>", "port to bind", Number)
  .requiredOption("--fail-log <file>", "append one JSON line per failure")
  .option("--healed-when <file>", "fail nothing once this file exists")
  .option("--by-header", "the poison header decides (once | fatal), not the record's index")
  .action(
    async (o: {
      name: string;
      host: string;
      port: number;
      failLog: string;
      healedWhen?: string;
      byHeader?: boolean;
    }) => {
      const server = await serveTransform(
        o.port,
        (records) => {
          const now = Date.now();
          const failures: string[] = [];
          const healed = o.healedWhen !== undefined && fs.existsSync(o.healedWhen);
          const out = records.map((r) => {
            const poison = healed
              ? undefined
              : o.byHeader
                ? poisonByHeader(r)
                : poisonOf(Number(r.id.split("-").pop()));
            if (!poison) return { value: r.value, headers: { ...r.headers, checked: "true" } };
            failures.push(JSON.stringify({ id: r.id, t: now }));
            return poison === "retryable"
              ? new StageError(`record ${r.id} is poisoned`, { retryable: true })
              : new StageError(`record ${r.id} can never be processed`, { retryable: false });
          });
          if (failures.length > 0) fs.appendFileSync(o.failLog, failures.map((l) => `${l}\n`).join(""));
          return out;
        },
        { name: o.name, host: o.host },
      );
      process.stdout.write(`ready ${server.address}\n`);
      await runUntilSignal(() => server.stop(5000));
    },
  );

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`poison-transform: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
