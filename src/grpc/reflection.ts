/**
 * Server reflection (v1 and v1alpha) on every port, built on first use.
 *
 * `new ReflectionService(def)` decodes every file descriptor of the contract and
 * walks every symbol: ~150 ms for the first server of a process and ~60 ms for
 * each further one on this machine, all before the port could answer health.
 * Here each server registers the two reflection services at once (their
 * definitions are read once per process from an empty ReflectionService), and
 * the real implementation, with the contract's descriptors, is made on the
 * first reflection call to that server. Only @grpc/reflection's public API is
 * used: `addToServer` is given a recorder instead of a server.
 */
import type * as grpc from "@grpc/grpc-js";
import type * as protoLoader from "@grpc/proto-loader";
import { reflectionPackageDefinition } from "../proto";

interface Registration {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

type ReflectionServiceClass = typeof import("@grpc/reflection").ReflectionService;

function reflectionService(): ReflectionServiceClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require("@grpc/reflection") as typeof import("@grpc/reflection")).ReflectionService;
}

/** What `addToServer` of a ReflectionService built on `def` registers. */
function registrations(def: protoLoader.PackageDefinition, services?: string[]): Registration[] {
  const out: Registration[] = [];
  const Reflection = reflectionService();
  new Reflection(def, services ? { services } : undefined).addToServer({
    addService: (definition, implementation) => out.push({ definition, implementation }),
  });
  return out;
}

let definitions: grpc.ServiceDefinition[] | undefined;

/**
 * Registers reflection for `services` (fully-qualified names) on `server`; the implementation is
 * built on the first reflection call (~60–150 ms, once per server). Built ahead instead, an idle
 * sidecar held ~6 MiB more (75 vs 69 MiB, three starts each) for calls that rarely come: sidecars and
 * routers are reflected only by people with grpcurl, stage services by their sidecar's scan.
 */
export function addReflection(server: Pick<grpc.Server, "addService">, services: string[]): void {
  definitions ??= registrations({}).map((r) => r.definition);
  let real: Registration[] | undefined;
  const prepare = (): Registration[] => (real ??= registrations(reflectionPackageDefinition(), services));
  for (const [i, definition] of definitions.entries()) {
    const [method] = Object.keys(definition);
    server.addService(definition, {
      [method]: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        const handler = prepare()[i].implementation[method] as grpc.handleBidiStreamingCall<unknown, unknown>;
        handler(call);
      },
    });
  }
}
