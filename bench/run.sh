#!/usr/bin/env bash
# `npm run bench`, as root: sets up the test bed, builds, and measures (several minutes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -d node_modules ]] || npm ci --no-audit --no-fund
bash test/env/setup.sh
npm run build --silent
node --import tsx bench/run.ts
# The file it writes is committed: keep it in the repository's format.
npx prettier --write --log-level warn bench/RESULTS.md
