import { newClusterId } from "./kafka-broker";

describe("newClusterId", () => {
  it("never starts with '-' (StorageTool would read it as an option) and is 22 base64url characters", () => {
    for (let i = 0; i < 5000; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});
