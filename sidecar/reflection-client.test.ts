/**
 * The in-house reflection client against the library it replaces
 * (grpc-js-reflection-client, kept as a dev dependency for this test): the
 * same services, and the same methods with the same fully-qualified message
 * types, from a server whose service imports other files; v1 and v1alpha.
 */
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { GrpcReflection } from "grpc-js-reflection-client";
import { PROTO_DIR, PROTO_LOADER_OPTIONS } from "../src/proto";
import { ReflectionClient, type ReflectionVersion } from "./reflection-client";

const SERVICES = ["acme.Enricher", "acme.Archiver", "acme.Greeter"];

let server: grpc.Server;
let endpoint: string;

beforeAll(async () => {
  const pkg = protoLoader.loadSync("acme-stages.proto", {
    ...PROTO_LOADER_OPTIONS,
    includeDirs: [path.resolve(__dirname, "..", "src", "testing"), PROTO_DIR],
  });
  server = new grpc.Server();
  const end = (call: grpc.ServerDuplexStream<unknown, unknown>): void => void call.end();
  server.addService(pkg["acme.Enricher"] as grpc.ServiceDefinition, { Process: end });
  server.addService(pkg["acme.Archiver"] as grpc.ServiceDefinition, {
    Describe: (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, {}),
    Write: end,
  });
  server.addService(pkg["acme.Greeter"] as grpc.ServiceDefinition, { Process: end });
  new ReflectionService(pkg, { services: SERVICES }).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  endpoint = `127.0.0.1:${port}`;
});

afterAll(() => server.forceShutdown());

const deadline = (): Date => new Date(Date.now() + 5000);

/** The part of a protobufjs Root read here (the library brings its own protobufjs copy). */
interface RootLike {
  lookupService(name: string): {
    resolveAll(): unknown;
    methodsArray: {
      name: string;
      requestStream?: boolean;
      responseStream?: boolean;
      resolvedRequestType: { fullName: string } | null;
      resolvedResponseType: { fullName: string } | null;
    }[];
  };
}

/** name(request) → response, streaming flags: what discovery reads off a service. */
function shapes(root: RootLike, service: string): string[] {
  const svc = root.lookupService(service);
  svc.resolveAll();
  return svc.methodsArray.map(
    (m) =>
      `${m.name}(${m.requestStream ? "stream " : ""}${m.resolvedRequestType?.fullName}) → ` +
      `${m.responseStream ? "stream " : ""}${m.resolvedResponseType?.fullName}`,
  );
}

describe.each<ReflectionVersion>(["v1", "v1alpha"])("reflection %s", (version) => {
  let ours: ReflectionClient;
  let theirs: GrpcReflection;
  beforeAll(() => {
    ours = new ReflectionClient(endpoint, version);
    theirs = new GrpcReflection(endpoint, grpc.credentials.createInsecure(), {}, version);
  });
  afterAll(() => {
    ours.close();
    (theirs as unknown as { client: grpc.Client }).client.close();
  });

  test("lists the same services", async () => {
    const mine = await ours.listServices(deadline());
    expect(mine.sort()).toEqual((await theirs.listServices("*", { deadline: deadline() })).sort());
    expect(mine).toEqual(expect.arrayContaining(SERVICES));
  });

  test.each(SERVICES)("describes %s like the library, imports resolved", async (service) => {
    const mine = shapes(await ours.rootOf(service, deadline()), service);
    const library = (
      await theirs.getDescriptorBySymbol(service, { deadline: deadline() })
    ).getProtobufJsRoot();
    expect(mine).toEqual(shapes(library, service));
    expect(mine.length).toBeGreaterThan(0);
    // Types declared in the imported conveyor/v1 files are resolved, not left as names.
    if (service !== "acme.Greeter") expect(mine.join(" ")).toContain(".conveyor.v1.");
  });

  test("an unknown symbol is an error answer with its gRPC code", async () => {
    await expect(ours.rootOf("acme.Missing", deadline())).rejects.toMatchObject({
      name: "ReflectionError",
      code: grpc.status.NOT_FOUND,
    });
  });
});
