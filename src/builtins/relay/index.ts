/** `builtin: sse` as a registry entry: the relay's Server-Sent-Events reader as a pipeline source. */
import { builtinKind, type Builtin } from "../builtin";
import { sseSourceConfigSchema, type SseSourceConfig } from "./config";

export const sseBuiltin: Builtin = {
  name: "sse",
  kinds: {
    source: builtinKind<"source", SseSourceConfig>("source", {
      description:
        "Reads a Server-Sent-Events stream (config.url) as records; the cursor is the SSE id, resumed with Last-Event-ID after the last acked one.",
      schema: sseSourceConfigSchema,
      create(config, ctx) {
        // loaded when created: the relay's modules stay out of processes that never read SSE
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { openSseSource }: typeof import("./stage") = require("./stage");
        return openSseSource(config, { stateDir: ctx.stateDir, log: ctx.log });
      },
    }),
  },
};
