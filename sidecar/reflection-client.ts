/**
 * A gRPC server reflection client (v1 and v1alpha), just what discovery needs:
 * list the services of a port, and the descriptors of one service as a
 * protobufjs Root (the file that declares it plus every file it imports).
 *
 * It replaces grpc-js-reflection-client, which loads all of lodash and
 * google-protobuf into every sidecar: +9 MiB RSS and about a tenth of the
 * sidecar's start-up (docs/build.md). The reflection protos are the ones
 * @grpc/reflection ships and loads itself; the descriptors are decoded with
 * protobufjs' descriptor extension, which proto-loader already loads.
 * reflection-client.test.ts checks it against the library it replaces.
 */
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import * as protobuf from "protobufjs";
import { FileDescriptorProto, FileDescriptorSet, type IFileDescriptorProto } from "protobufjs/ext/descriptor";

/** protobufjs/ext/descriptor adds Root.fromDescriptor at run time; its typings do not declare it. */
const RootWithDescriptors = protobuf.Root as typeof protobuf.Root & {
  fromDescriptor(set: protobuf.Message): protobuf.Root;
};

export type ReflectionVersion = "v1" | "v1alpha";

/** What a ServerReflectionInfo answer carries, as proto-loader decodes it (keepCase: false). */
interface ReflectionResponse {
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  listServicesResponse?: { service: { name: string }[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

type ReflectionRequest =
  { listServices: string } | { fileContainingSymbol: string } | { fileByFilename: string };

type ReflectionStub = grpc.Client & {
  ServerReflectionInfo(
    options: grpc.CallOptions,
  ): grpc.ClientDuplexStream<ReflectionRequest, ReflectionResponse>;
};
type ReflectionStubConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => ReflectionStub;

const stubs = new Map<ReflectionVersion, ReflectionStubConstructor>();

/** The generated client of one reflection version, loaded on first use. */
function stubConstructor(version: ReflectionVersion): ReflectionStubConstructor {
  let ctor = stubs.get(version);
  if (ctor === undefined) {
    const root = path.dirname(require.resolve("@grpc/reflection/package.json"));
    const file = path.join(root, "build", "proto", "grpc", "reflection", version, "reflection.proto");
    const loaded = grpc.loadPackageDefinition(protoLoader.loadSync(file, { longs: String, defaults: true }));
    const pkg = (loaded.grpc as grpc.GrpcObject).reflection as grpc.GrpcObject;
    ctor = (pkg[version] as grpc.GrpcObject).ServerReflection as unknown as ReflectionStubConstructor;
    stubs.set(version, ctor);
  }
  return ctor;
}

/** A reflection error answer (errorResponse), with the gRPC code the server gave. */
export class ReflectionError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = "ReflectionError";
  }
}

export class ReflectionClient {
  /** The channel-owning client; other calls on the same connection may use it (Describe). */
  readonly client: grpc.Client;
  private readonly stub: ReflectionStub;

  constructor(
    endpoint: string,
    readonly version: ReflectionVersion,
    options: grpc.ChannelOptions = {},
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {
    this.stub = new (stubConstructor(version))(endpoint, credentials, options);
    this.client = this.stub;
  }

  /** Fully-qualified names of every service the server reflects. */
  async listServices(deadline: Date): Promise<string[]> {
    const answer = await this.request({ listServices: "*" }, deadline);
    return (answer.listServicesResponse?.service ?? []).map((s) => s.name);
  }

  /** The descriptors of the file declaring `symbol` and of everything it imports, as one Root. */
  async rootOf(symbol: string, deadline: Date): Promise<protobuf.Root> {
    const files = new Map<string, IFileDescriptorProto>();
    const pending: string[] = [];
    const add = (answer: ReflectionResponse): void => {
      for (const bytes of answer.fileDescriptorResponse?.fileDescriptorProto ?? []) {
        const file = FileDescriptorProto.decode(bytes) as IFileDescriptorProto;
        const name = file.name ?? "";
        if (files.has(name)) continue;
        files.set(name, file);
        pending.push(...((file.dependency ?? []) as string[]));
      }
    };
    add(await this.request({ fileContainingSymbol: symbol }, deadline));
    for (let dep = pending.pop(); dep !== undefined; dep = pending.pop()) {
      if (!files.has(dep)) add(await this.request({ fileByFilename: dep }, deadline));
    }
    return RootWithDescriptors.fromDescriptor(FileDescriptorSet.create({ file: [...files.values()] }));
  }

  close(): void {
    this.client.close();
  }

  /** One request on its own stream, as grpcurl does: the first answer settles it. */
  private request(message: ReflectionRequest, deadline: Date): Promise<ReflectionResponse> {
    return new Promise((resolve, reject) => {
      const call = this.stub.ServerReflectionInfo({ deadline });
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        fn();
      };
      call.on("data", (answer: ReflectionResponse) => {
        settle(() => {
          const error = answer.errorResponse;
          if (error) reject(new ReflectionError(error.errorCode as grpc.status, error.errorMessage));
          else resolve(answer);
        });
        call.cancel();
      });
      call.on("error", (err: grpc.ServiceError) => settle(() => reject(err)));
      call.on("end", () =>
        settle(() =>
          reject(new ReflectionError(grpc.status.UNAVAILABLE, "reflection stream ended without an answer")),
        ),
      );
      call.write(message);
      call.end();
    });
  }
}
