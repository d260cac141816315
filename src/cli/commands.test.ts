import { COMMANDS, requestedCommand } from "./commands";

describe("CLI command table", () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))(
    "%s: the listed summary is the loaded command's",
    (name, entry) => {
      const command = entry.load();
      expect(command.name()).toBe(name);
      expect(command.summary() || command.description()).toBe(entry.summary);
    },
  );

  it("names are unique", () => {
    expect(new Set(COMMANDS.map((c) => c.name)).size).toBe(COMMANDS.length);
  });

  it("finds the command being run, also behind `help`", () => {
    expect(requestedCommand(["node", "main.js", "validate", "x.yaml"])?.name).toBe("validate");
    expect(requestedCommand(["node", "main.js", "help", "sidecar"])?.name).toBe("sidecar");
    expect(requestedCommand(["node", "main.js", "--help"])).toBeUndefined();
    expect(requestedCommand(["node", "main.js", "nope"])).toBeUndefined();
  });
});
