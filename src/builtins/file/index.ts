/** `builtin: file` as a registry entry: a sink appending NDJSON per pipeline and sidecar. */
import { builtinKind, type Builtin } from "../builtin";
import { fileSinkConfigSchema, type FileSinkConfig } from "./config";

export const fileBuiltin: Builtin = {
  name: "file",
  kinds: {
    sink: builtinKind<"sink", FileSinkConfig>("sink", {
      description:
        "Appends records as NDJSON to a file per sidecar under config.dir, fsynced before confirming.",
      schema: fileSinkConfigSchema,
      create(config, ctx) {
        // loaded when created, like every built-in's stage module
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { FileSink }: typeof import("./stage") = require("./stage");
        return new FileSink(config, ctx.pipeline, ctx.sidecarId);
      },
    }),
  },
};
