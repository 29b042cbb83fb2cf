#!/usr/bin/env bash
# Builds the console (TypeScript, esbuild) into src/Analytics.Api/wwwroot/ from the locked npm dependencies.
#   src/Analytics.Console/build.sh           install (npm ci) when needed, type-check, bundle, write
#   src/Analytics.Console/build.sh --check   rebuild in memory and fail when the committed bundle is not current
# Needs Node 20+ and npm; the README's two commands do not: the built files are committed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [[ ! -x node_modules/.bin/esbuild || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
exec node build.mjs "$@"
