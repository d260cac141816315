import { ConveyorError } from "../../src/errors";
import type { RouterState } from "../store/store";
import { describeAssignments, guardedPut, type LeaderGuard } from "./guarded-commit";

const state: RouterState = {
  generation: 7,
  pipelines: [{ name: "p", definition: "{}" }],
  assignments: [
    { pipeline: "p", stage: "gen", stageIndex: 0, sidecarId: "a", partitions: [0, 2], generation: 7 },
    { pipeline: "p", stage: "out", stageIndex: 1, sidecarId: "c", partitions: [], generation: 5 },
  ],
};
const guard: LeaderGuard = { key: "/conveyor/leader", createRevision: "41", leaseId: "99" };

describe("guardedPut", () => {
  it("compares the leader key's create revision and the state's last revision, then puts the state", () => {
    const txn = guardedPut(guard, { modRevision: "40", generation: 6 }, "/conveyor/state", state, 1);
    expect(txn.compares).toEqual([
      { key: "/conveyor/leader", target: "Create", value: "41" },
      { key: "/conveyor/state", target: "Mod", value: "40" },
    ]);
    expect(txn.put.key).toBe("/conveyor/state");
    expect(JSON.parse(txn.put.value)).toEqual({ formatVersion: 1, ...state });
  });

  it("expects no state key yet on the first commit (mod revision 0)", () => {
    const txn = guardedPut(guard, { modRevision: "0", generation: 0 }, "/s", state, 1);
    expect(txn.compares[1]).toEqual({ key: "/s", target: "Mod", value: "0" });
  });

  it("refuses without a guard: not the leader, or its lease may have run out", () => {
    const err = (() => {
      try {
        guardedPut(undefined, { modRevision: "40", generation: 6 }, "/s", state, 1);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConveyorError);
    expect((err as ConveyorError).code).toBe("NOT_LEADER");
  });

  it("never lowers the generation", () => {
    expect(() => guardedPut(guard, { modRevision: "40", generation: 8 }, "/s", state, 1)).toThrow(
      /generation 7 over 8: generations never go down/,
    );
    // The same generation again is fine (a pipeline change that moves no stage).
    expect(() => guardedPut(guard, { modRevision: "40", generation: 7 }, "/s", state, 1)).not.toThrow();
  });

  it("describes each assignment as stage@sidecar[partitions] for the commit log", () => {
    expect(describeAssignments(state)).toEqual(["p/0:gen@a[0,2]", "p/1:out@c[]"]);
  });
});
