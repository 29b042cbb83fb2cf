#!/usr/bin/env bash
# Restart one of the services started by services-up.sh (same env: ports, ANALYTICS_STATE_DIR), for fault drills
# and the fault suite (tests/Analytics.FaultTests).
#
#   infra/scripts/services-restart.sh postgres   # pg_ctl restart -m immediate: clients cut off, crash recovery
#   infra/scripts/services-restart.sh rabbitmq   # the rabbit application stopped and started: every connection closed,
#                                                # durable queues and persistent messages recovered from disk
#
# Native services only (the state dir's servers); prints the time the service was unavailable.
set -euo pipefail

# shellcheck source=infra/scripts/services-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/services-env.sh"

started=$(date +%s.%N)
case "${1:-}" in
  postgres)
    pg_running_ours || die "PostgreSQL is not running from $PG_DATA"
    log "PostgreSQL: restarting (immediate: no clean shutdown, crash recovery on start)"
    pg_as_postgres pg_ctl -D "$PG_DATA" -l "$PG_LOG" -m immediate -w -t 60 \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_SOCKET_DIR -c max_connections=$PG_MAX_CONNECTIONS $PG_SERVER_SETTINGS" \
      restart >/dev/null
    ;;
  rabbitmq)
    rmq_node_running || die "RabbitMQ node $RABBITMQ_NODENAME is not running"
    # The application stopped and started again in one CLI call (each call boots an Erlang VM, seconds here).
    log "RabbitMQ: stopping the application (every connection closed) and starting it again"
    rmq_ctl -q eval 'ok = rabbit:stop(), ok = rabbit:start().' >/dev/null
    ;;
  *)
    die "usage: services-restart.sh postgres|rabbitmq"
    ;;
esac
log "$1 restarted in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
