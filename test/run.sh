#!/usr/bin/env bash
# The whole suite, as the README says: `sudo npm test`. Sets up the real test bed (Docker engine,
# PostgreSQL image, tools), builds and bundles, then runs unit and integration tests together, in one
# process at a time (they share the engine and the loop devices). Nothing is opt-in.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ -d node_modules ]] || npm ci --no-audit --no-fund
bash test/env/setup.sh
# Builds, then bundles (dist/bundle/immich-backup-agent.mjs: the agent as one file, which
# test/integration/bundle.test.ts runs alone in an empty folder).
npm run bundle --silent

mapfile -t files < <(find dist/test -name '*.test.js' | sort)
exec node --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
