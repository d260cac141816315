import * as grpc from "@grpc/grpc-js";
import { fromGrpcError } from "../errors";
import { LEADER_METADATA_KEY, notLeaderStatus, parseLeaderRefusal } from "./leader-hint";

describe("leader hint", () => {
  it("round-trips the leader's address through the trailers", () => {
    const status = notLeaderStatus("10.1.2.3:7070");
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toBe("NOT_LEADER: not leader, leader is 10.1.2.3:7070");
    expect(status.metadata.get(LEADER_METADATA_KEY)).toEqual(["10.1.2.3:7070"]);
    expect(parseLeaderRefusal(status)).toEqual({ leader: "10.1.2.3:7070" });
    expect(fromGrpcError(Object.assign(new Error(status.details), status)).code).toBe("NOT_LEADER");
  });

  it("falls back to the details when the trailers are gone", () => {
    expect(
      parseLeaderRefusal({
        code: grpc.status.UNAVAILABLE,
        details: "NOT_LEADER: not leader, leader is b:7070",
      }),
    ).toEqual({ leader: "b:7070" });
  });

  it("says when no leader is known, and ignores every other error", () => {
    expect(parseLeaderRefusal(notLeaderStatus(undefined))).toEqual({ leader: undefined });
    expect(parseLeaderRefusal({ code: grpc.status.UNAVAILABLE, details: "No connection established" })).toBe(
      undefined,
    );
    expect(
      parseLeaderRefusal({ code: grpc.status.NOT_FOUND, details: "unknown sidecar a; register first" }),
    ).toBe(undefined);
  });
});
