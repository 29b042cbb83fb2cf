#!/usr/bin/env bash
# Runs the whole platform locally: PostgreSQL + RabbitMQ, the workers (one ingests, one runs the projections,
# triage clustering and regression alerts), the API host and simulated chat traffic. Ctrl+C stops the hosts (the services keep running; stop them with services-down.sh).
#
#   infra/scripts/run-platform.sh                 # simulated traffic at 50 events/s until Ctrl+C
#   SIMULATOR_ARGS="--rate 500 --seed 7" infra/scripts/run-platform.sh
#
# With a Docker engine the same stack runs as `docker compose --profile simulator up --build` (Grafana's admin
# password: GRAFANA_ADMIN_PASSWORD, else one made once and kept in .local/grafana-admin-password).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/services-env.sh"
cd "$ANALYTICS_REPO_ROOT"

if [[ $ANALYTICS_SERVICES_MODE != native ]] && docker_available; then
  # Grafana needs an admin password from the environment; for this local run, make one once and keep it in .local/.
  if [[ -z ${GRAFANA_ADMIN_PASSWORD:-} ]]; then
    mkdir -p .local
    [[ -s .local/grafana-admin-password ]] || head -c 18 /dev/urandom | base64 | tr -d '/+=' > .local/grafana-admin-password
    GRAFANA_ADMIN_PASSWORD="$(cat .local/grafana-admin-password)"
    export GRAFANA_ADMIN_PASSWORD
    log "Grafana: user admin, password in .local/grafana-admin-password"
  fi
  log "Docker engine found: docker compose --profile simulator up --build (Ctrl+C to stop)"
  exec docker compose --profile simulator up --build
fi

ensure_dotnet
# Prometheus too (installed from Debian's package when missing): http://127.0.0.1:${PROMETHEUS_PORT:-9090}
ANALYTICS_PROMETHEUS="${ANALYTICS_PROMETHEUS:-1}" infra/scripts/services-up.sh

LOGS="$ANALYTICS_STATE_DIR/logs"
mkdir -p "$LOGS"
log "building (Release)"
dotnet build Analytics.sln -c Release -nologo -v q

pids=()
stop_hosts() {
  log "stopping workers and API"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_hosts EXIT

start_host() { # name project url [VAR=value...]
  local name=$1 project=$2 url=$3
  shift 3
  (cd "src/$project/bin/Release/net10.0" && exec env Urls="$url" DOTNET_ENVIRONMENT=Development ASPNETCORE_ENVIRONMENT=Development "$@" dotnet "$project.dll") >"$LOGS/$name.log" 2>&1 &
  pids+=($!)
  local deadline=$((SECONDS + 90))
  until curl -fsS "$url/health" >/dev/null 2>&1; do
    kill -0 "${pids[-1]}" 2>/dev/null || die "$name exited; see $LOGS/$name.log"
    ((SECONDS < deadline)) || die "$name did not become healthy in 90 s; see $LOGS/$name.log"
    sleep 1
  done
  log "$name is up on $url (log: $LOGS/$name.log)"
}

# One worker binary, two roles (docs/architecture.md, "Processes"): ingestion stays small and fast; the projection
# daemon (with the triage clusterer's sentence model) runs beside it.
# Least privilege (docs/security.md): the hosts serve as the DML-only role; each worker applies schema changes as
# the owner at startup; the workers use analytics_worker on RabbitMQ; the simulator publishes as analytics_publisher.
worker_settings=(ConnectionStrings__Marten="$ANALYTICS_PG_APP_CONNECTION" RabbitMq__Uri="$ANALYTICS_AMQP_WORKER_URI"
  EventStore__OwnerUsername="$ANALYTICS_DB_USER" EventStore__OwnerPassword="$ANALYTICS_DB_PASSWORD")
start_host worker-ingest Analytics.Worker http://127.0.0.1:5081 "${worker_settings[@]}" \
  Projections__RunDaemon=false Alerts__Enabled=false
start_host worker-projections Analytics.Worker http://127.0.0.1:5082 "${worker_settings[@]}" Ingestion__Enabled=false
start_host api Analytics.Api http://127.0.0.1:5080 ConnectionStrings__Marten="$ANALYTICS_PG_APP_CONNECTION"

cat <<INFO

  Platform running. Open the console: http://127.0.0.1:5080/   (API key: local-dev-viewer-key, or local-dev-triager-key to act)

  More (API key header: X-Api-Key: local-dev-viewer-key):
    API (OpenAPI document)     http://127.0.0.1:5080/openapi/v1.json
    Satisfaction matrix        curl -H 'X-Api-Key: local-dev-viewer-key' 'http://127.0.0.1:5080/api/satisfaction/matrix?from=2026-01-01T00:00:00Z'
    Leaderboard                curl -H 'X-Api-Key: local-dev-viewer-key' 'http://127.0.0.1:5080/api/comparisons/leaderboard?from=2026-01-01T00:00:00Z'
    A conversation             http://127.0.0.1:5080/api/conversations/{conversationId}  (and /events)
    Ingest worker metrics      http://127.0.0.1:5081/metrics   (analytics_ingest_*)
    Projection worker metrics  http://127.0.0.1:5082/metrics   (analytics_projection_*, analytics_alerts_*)
    Prometheus (if installed)  http://127.0.0.1:${PROMETHEUS_PORT:-9090}   (graphs of the series; Status → Targets)
    RabbitMQ management        $ANALYTICS_RABBITMQ_MANAGEMENT_URL  (administrator analytics / analytics)
                               queues: analytics-ingest, analytics-ingest-refused, analytics-ingest_error
    PostgreSQL                 $ANALYTICS_PG_URL  (schema analytics, table mt_events)
    Logs                       $LOGS

  Simulated traffic follows (Ctrl+C to stop).

INFO
# shellcheck disable=SC2086
(cd src/Analytics.Simulator/bin/Release/net10.0 && dotnet Analytics.Simulator.dll --rabbitmq "$ANALYTICS_AMQP_PUBLISHER_URI" ${SIMULATOR_ARGS:---rate 50})
