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
# The tests start a Prometheus of their own where they need one: no shared one on PROMETHEUS_PORT.
ANALYTICS_PROMETHEUS="${ANALYTICS_PROMETHEUS:-0}" infra/scripts/services-up.sh
# The console's browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
if [[ ! -x ${ANALYTICS_TEST_CHROMIUM:-/usr/bin/chromium} ]]; then
  [[ $(id -u) -eq 0 ]] || die "the browser test needs Chromium: apt-get install -y chromium (as root), or set ANALYTICS_TEST_CHROMIUM"
  log "installing chromium with apt-get (the console's browser tests)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
# The alerting rules' tests run Debian's promtool, and one test starts Debian's prometheus (same package).
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  [[ $(id -u) -eq 0 ]] || die "the alerting-rule tests need Prometheus: apt-get install -y prometheus (as root)"
  log "installing prometheus with apt-get (promtool test rules; the pipeline-health alert test)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null
fi
log "checking formatting (dotnet format --verify-no-changes)"
dotnet format Analytics.sln --verify-no-changes -v q
log "building (Release)"
dotnet build Analytics.sln -c Release -nologo -v q
# The integration tests create their own databases and vhosts on these servers.
export ANALYTICS_TEST_PG="Host=127.0.0.1;Port=${PG_PORT};Database=${ANALYTICS_DB_NAME};Username=${ANALYTICS_DB_USER};Password=${ANALYTICS_DB_PASSWORD}"
export ANALYTICS_TEST_RABBITMQ_PORT="$RABBITMQ_PORT" ANALYTICS_TEST_RABBITMQ_MANAGEMENT_PORT="$RABBITMQ_MANAGEMENT_PORT"
export ANALYTICS_TEST_RABBITMQ_PROMETHEUS_PORT="$RABBITMQ_PROMETHEUS_PORT"
export ANALYTICS_TEST_RABBITMQ_USER="$ANALYTICS_MQ_USER" ANALYTICS_TEST_RABBITMQ_PASSWORD="$ANALYTICS_MQ_PASSWORD"
# The least-privilege users the worker, the API and the publisher run as in the tests (docs/security.md).
export ANALYTICS_TEST_PG_APP_USER="$ANALYTICS_DB_APP_USER" ANALYTICS_TEST_PG_APP_PASSWORD="$ANALYTICS_DB_APP_PASSWORD"
export ANALYTICS_TEST_RABBITMQ_WORKER_USER="$ANALYTICS_MQ_WORKER_USER" ANALYTICS_TEST_RABBITMQ_WORKER_PASSWORD="$ANALYTICS_MQ_WORKER_PASSWORD"
export ANALYTICS_TEST_RABBITMQ_PUBLISHER_USER="$ANALYTICS_MQ_PUBLISHER_USER" ANALYTICS_TEST_RABBITMQ_PUBLISHER_PASSWORD="$ANALYTICS_MQ_PUBLISHER_PASSWORD"
log "running tests"
dotnet test Analytics.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@"
