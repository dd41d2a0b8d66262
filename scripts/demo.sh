#!/usr/bin/env bash
# The first thing to run: a whole plug-in backup, end to end, in a throwaway world on this
# machine (a loop-device drive, an Immich-like server and database in Docker, a library), through
# the real udev rule. Needs root. Everything it makes is removed at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -d node_modules ]] || npm ci --no-audit --no-fund
bash test/env/setup.sh
npm run build --silent
exec node --import tsx scripts/demo.ts
