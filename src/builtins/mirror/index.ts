/** `builtin: mirror` as a registry entry: the exactly-once mirrors of a mirror config as a pipeline source. */
import { builtinKind, type Builtin } from "../builtin";
import mirrorSchema from "../../../schemas/mirror.schema.json";
import { mirrorConfigProblems, mirrorFileConfigValidator, type MirrorFileConfig } from "./config";

export const mirrorBuiltin: Builtin = {
  name: "mirror",
  kinds: {
    source: builtinKind<"source", MirrorFileConfig>("source", {
      description:
        "Runs the mirrors of config (a `conveyor mirror` config: destination + mirrors) exactly-once on the sidecar the router picks; emits one record per durable flush.",
      schema: { json: mirrorSchema, validator: mirrorFileConfigValidator },
      refine: mirrorConfigProblems,
      create(config, ctx) {
        // loaded when created: kafkajs and @aws-sdk stay out of processes that never mirror
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { openMirrorSource }: typeof import("./stage") = require("./stage");
        return openMirrorSource(config, { log: ctx.log });
      },
    }),
  },
};
