#!/usr/bin/env bash
# Runs the whole test suite (format check, unit + integration) against real PostgreSQL and RabbitMQ, which it
# starts first (natively, or with Docker Compose when a Docker engine answers).
#
#   infra/scripts/run-tests.sh                      # everything
#   infra/scripts/run-tests.sh --filter Ingestion   # extra arguments go to dotnet test
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/services-env.sh"
cd "$ANALYTICS_REPO_ROOT"

ensure_dotnet
infra/scripts/services-up.sh
log "checking formatting (dotnet format --verify-no-changes)"
dotnet format Analytics.sln --verify-no-changes -v q
log "building (Release)"
dotnet build Analytics.sln -c Release -nologo -v q
# The integration tests create their own databases and vhosts on these servers.
export ANALYTICS_TEST_PG="Host=127.0.0.1;Port=${PG_PORT};Database=${ANALYTICS_DB_NAME};Username=${ANALYTICS_DB_USER};Password=${ANALYTICS_DB_PASSWORD}"
export ANALYTICS_TEST_RABBITMQ_PORT="$RABBITMQ_PORT" ANALYTICS_TEST_RABBITMQ_MANAGEMENT_PORT="$RABBITMQ_MANAGEMENT_PORT"
export ANALYTICS_TEST_RABBITMQ_USER="$ANALYTICS_MQ_USER" ANALYTICS_TEST_RABBITMQ_PASSWORD="$ANALYTICS_MQ_PASSWORD"
log "running tests"
dotnet test Analytics.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@"
