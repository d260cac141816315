import { AssignerProtocol } from "kafkajs";
import { singlePartitionAssigner, type PartitionClaim } from "./kafkajs-support";

/** Runs the group leader's assignment over members that joined with these claims (undefined: no user data). */
async function holderAmong(members: Array<[string, PartitionClaim | undefined]>): Promise<string[]> {
  const metadata = (claim: PartitionClaim | undefined): Buffer =>
    claim
      ? singlePartitionAssigner("t", 3, () => claim)({} as never).protocol({ topics: ["t"] }).metadata
      : AssignerProtocol.MemberMetadata.encode({ version: 1, topics: ["t"], userData: Buffer.alloc(0) });
  const assignment = await singlePartitionAssigner(
    "t",
    3,
  )({} as never).assign({
    members: members.map(([memberId, claim]) => ({ memberId, memberMetadata: metadata(claim) })),
    topics: ["t"],
  });
  return assignment
    .filter((a) => AssignerProtocol.MemberAssignment.decode(a.memberAssignment)?.assignment["t"]?.includes(3))
    .map((a) => a.memberId);
}

describe("singlePartitionAssigner", () => {
  it("keeps the partition with the member that holds it, however the others sort", async () => {
    expect(
      await holderAmong([
        ["a-new", { holds: false, sinceMs: 1 }],
        ["z-holder", { holds: true, sinceMs: 500 }],
      ]),
    ).toEqual(["z-holder"]);
  });

  it("otherwise gives it to the longest-running member, then by member id; members without a claim last", async () => {
    expect(
      await holderAmong([
        ["b", { holds: false, sinceMs: 200 }],
        ["c", { holds: false, sinceMs: 100 }],
        ["a", undefined],
      ]),
    ).toEqual(["c"]);
    expect(
      await holderAmong([
        ["b", { holds: false, sinceMs: 100 }],
        ["a", { holds: false, sinceMs: 100 }],
      ]),
    ).toEqual(["a"]);
    expect(await holderAmong([["only", undefined]])).toEqual(["only"]);
  });
});
