#!/usr/bin/env bash
# Stop the services started by services-up.sh. Idempotent; data under
# ${ANALYTICS_STATE_DIR:-<repo>/.local} is kept (delete that folder to start from scratch).
#
#   infra/scripts/services-down.sh
#
# Native: pg_ctl stop (as postgres), rabbitmqctl stop, then the epmd this project started
# (by its PID). Servers not started by services-up.sh are left alone.
# With a Docker engine: docker compose stop postgres rabbitmq.
set -euo pipefail

# shellcheck source=infra/scripts/services-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/services-env.sh"
# shellcheck source=infra/scripts/prometheus-native.sh
source "$(dirname "${BASH_SOURCE[0]}")/prometheus-native.sh"

pg_down() {
  if pg_running_ours; then
    log "PostgreSQL: stopping ($PG_DATA)"
    pg_as_postgres pg_ctl -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
    log "PostgreSQL: stopped"
  else
    log "PostgreSQL: not running from $PG_DATA"
    if port_open "$PG_PORT"; then log "PostgreSQL: port $PG_PORT is served by another server; left alone"; fi
  fi
}

rmq_down() {
  if [[ -x $RABBITMQ_SBIN/rabbitmqctl ]] && rmq_node_running; then
    log "RabbitMQ: stopping node $RABBITMQ_NODENAME"
    # With the pid file, rabbitmqctl stop waits until the Erlang VM has exited.
    if [[ -s $RABBITMQ_PID_FILE ]]; then
      rmq_ctl -q stop "$RABBITMQ_PID_FILE" >/dev/null
    else
      rmq_ctl -q stop >/dev/null
    fi
    log "RabbitMQ: stopped"
  elif pid_alive "$RABBITMQ_PID_FILE" beam.smp; then
    local pid; pid=$(cat "$RABBITMQ_PID_FILE")
    warn "RabbitMQ: node does not answer but its VM (pid $pid) runs; sending TERM"
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { warn "RabbitMQ VM still alive; sending KILL"; kill -9 "$pid" 2>/dev/null || true; }
  else
    log "RabbitMQ: node $RABBITMQ_NODENAME not running"
  fi
  rm -f "$RABBITMQ_PID_FILE"

  if pid_alive "$RABBITMQ_EPMD_PID_FILE" epmd; then
    local pid names
    pid=$(cat "$RABBITMQ_EPMD_PID_FILE")
    names=$("$(epmd_bin)" -port "$ERL_EPMD_PORT" -names 2>/dev/null | sed -n 's/^name \([^ ]*\) at port.*/\1/p' || true)
    if [[ -n $names ]]; then
      log "RabbitMQ: leaving our epmd (pid $pid) running: other Erlang nodes still registered: $(echo $names)"
    else
      log "RabbitMQ: stopping our epmd (pid $pid)"
      kill "$pid"
      for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      rm -f "$RABBITMQ_EPMD_PID_FILE"
    fi
  else
    rm -f "$RABBITMQ_EPMD_PID_FILE"
    if port_open "$ERL_EPMD_PORT"; then log "RabbitMQ: an epmd not started by services-up.sh runs on port $ERL_EPMD_PORT; left alone"; fi
  fi
}

services_lock
if docker_available; then
  log "Docker engine found: docker compose stop postgres rabbitmq"
  (cd "$ANALYTICS_REPO_ROOT" && docker compose stop postgres rabbitmq) || warn "docker compose stop failed"
fi
prom_down
pg_down
rmq_down
log "done"
