/** Unit tests live beside the code; e2e tests start real processes and run one file at a time. */
const transform = { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] };
module.exports = {
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      transform,
      roots: ["<rootDir>/src", "<rootDir>/sidecar", "<rootDir>/router", "<rootDir>/k8s"],
      testMatch: ["**/*.test.ts"],
    },
    {
      displayName: "e2e",
      testEnvironment: "node",
      transform,
      roots: ["<rootDir>/e2e"],
      // The e2e tests run the compiled CLI (dist/), as users do: build it first if it is stale.
      globalSetup: "<rootDir>/e2e/harness/build-if-stale.js",
      testMatch: ["**/*.e2e.test.ts"],
    },
  ],
};
