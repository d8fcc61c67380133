#!/usr/bin/env bash
# The project's test command (npm test): system test dependencies, type check, build, all tests.
# Ends with one line "N passed, N failed" (and skipped) for CI logs.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh || exit 1
npm run build --silent || { echo "0 passed, 1 failed (build: server and console)"; exit 1; }
npx tsc -p tsconfig.test.json --noEmit || { echo "0 passed, 1 failed (type check of tests)"; exit 1; }

mkdir -p test-artifacts
V6SCOPE_SKIP_BUILD=1 npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@"
status=$?
node -e '
const r = JSON.parse(require("fs").readFileSync("test-artifacts/vitest.json", "utf8"));
const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0);
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' 2>/dev/null || echo "0 passed, 1 failed (no test report)"
exit $status
