// Jest globalSetup of the e2e project: the tests start the compiled CLI (dist/src/cli/main.js),
// so dist/ is (re)built first when it is missing or older than the sources (scripts/build.sh).
const { execFileSync } = require("node:child_process");
const path = require("node:path");

module.exports = function buildIfStale() {
  execFileSync("bash", [path.join(__dirname, "..", "..", "scripts", "build.sh"), "--if-stale"], {
    stdio: "inherit",
  });
};
