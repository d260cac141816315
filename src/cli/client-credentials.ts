/**
 * How a CLI command reaches a TLS server: --cacert/--cert/--key (or
 * CONVEYOR_CACERT/CERT/KEY) become the channel's credentials, --token
 * (CONVEYOR_TOKEN) an `authorization: Bearer` header on every call. Files are
 * read once: a command is short-lived, unlike the servers, which reload them.
 */
import * as fs from "node:fs";
import * as grpc from "@grpc/grpc-js";
import type { Command } from "commander";
import { clientSecurityOptions, type ClientSecurityConfig } from "../config/env";
import { ConveyorError } from "../errors";
import { bearer } from "../grpc/auth";

export interface ClientConnection {
  credentials: grpc.ChannelCredentials;
  interceptors: grpc.Interceptor[];
}

export const PLAINTEXT: ClientConnection = {
  credentials: grpc.credentials.createInsecure(),
  interceptors: [],
};

function read(file: string, flag: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new ConveyorError("CONFIG_INVALID", `${flag} ${file} cannot be read: ${(err as Error).message}`, {
      file,
    });
  }
}

/** Plaintext unless a CA or a client certificate is given; a token in any case. */
export function clientConnection(o: ClientSecurityConfig): ClientConnection {
  if ((o.cert === undefined) !== (o.key === undefined))
    throw new ConveyorError("CONFIG_INVALID", "--cert and --key go together");
  const tls = o.cacert !== undefined || o.cert !== undefined;
  const credentials = tls
    ? grpc.credentials.createSsl(
        o.cacert !== undefined ? read(o.cacert, "--cacert") : null,
        o.key !== undefined ? read(o.key, "--key") : null,
        o.cert !== undefined ? read(o.cert, "--cert") : null,
      )
    : grpc.credentials.createInsecure();
  return { credentials, interceptors: bearer(o.token) };
}

/** Adds --cacert/--cert/--key/--token to a client command. */
export function withClientSecurity(command: Command): Command {
  for (const o of clientSecurityOptions()) command.addOption(o);
  return command;
}
