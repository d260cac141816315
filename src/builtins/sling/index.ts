/** `builtin: sling` as a registry entry: a source (incremental reads) and a sink (writes), both through the Sling CLI. */
import { builtinKind, type Builtin } from "../builtin";
import { slingSinkConfigSchema, type SlingSinkConfig } from "./sink-config";
import { slingSourceConfigSchema, type SlingSourceConfig } from "./source-config";

export const slingBuiltin: Builtin = {
  name: "sling",
  kinds: {
    source: builtinKind<"source", SlingSourceConfig>("source", {
      description:
        "Reads a Sling stream (config.connection, config.stream table or SQL) as records, incrementally by config.updateKey; the cursor is the last acked update-key value.",
      schema: slingSourceConfigSchema,
      create(config, ctx) {
        // loaded when created: the Sling runner stays out of processes that never run Sling
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { openSlingSource }: typeof import("./source") = require("./source");
        return openSlingSource(config, { stateDir: ctx.stateDir, log: ctx.log });
      },
    }),
    sink: builtinKind<"sink", SlingSinkConfig>("sink", {
      description:
        "Writes each batch's JSON values through the Sling CLI (stdin, JSON lines) to any Sling target: config.target connection, config.object table or file.",
      schema: slingSinkConfigSchema,
      create(config, ctx) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { SlingSink }: typeof import("./sink") = require("./sink");
        return new SlingSink(config, ctx.pipeline);
      },
    }),
  },
};
