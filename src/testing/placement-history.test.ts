import { historyProblems, type Commit } from "./placement-history";

const commit = (
  revision: number,
  generation: number,
  leaderRevision: number,
  assignments: string[],
): Commit => ({
  router: "r",
  revision,
  generation,
  leaderRevision,
  assignments,
});

describe("historyProblems", () => {
  it("accepts a clean history across terms", () => {
    expect(
      historyProblems([
        commit(3, 1, 2, ["p/0:gen@a[]"]),
        commit(5, 2, 2, ["p/0:gen@a[]", "p/1:out@c[]"]),
        commit(9, 3, 8, ["p/0:gen@b[]"]),
      ]),
    ).toEqual([]);
  });

  it("finds a deposed leader's commit, a generation going down and a unit held twice in one generation", () => {
    expect(
      historyProblems([
        commit(3, 2, 2, ["p/0:gen@a[0,1]"]),
        commit(9, 3, 8, ["p/0:gen@b[1]"]),
        commit(10, 2, 2, ["p/0:gen@b[0]"]),
      ]),
    ).toEqual([
      "generation went down at revision 10: 3 → 2",
      "revision 10 was committed by an older leader (r, term 2) after term 8",
      "generation 2: p/0:gen[0] held by a and b",
    ]);
  });
});
