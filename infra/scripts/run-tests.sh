#!/usr/bin/env bash
# Runs the whole test suite (unit + integration) against real PostgreSQL and RabbitMQ, which it
# starts first (natively, or with Docker Compose when a Docker engine answers).
#
#   infra/scripts/run-tests.sh                      # everything
#   infra/scripts/run-tests.sh --filter Ingestion   # extra arguments go to dotnet test
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/services-env.sh"
cd "$ANALYTICS_REPO_ROOT"

ensure_dotnet
infra/scripts/services-up.sh
log "building (Release)"
dotnet build Analytics.sln -c Release -nologo -v q
log "running tests"
dotnet test Analytics.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@"
