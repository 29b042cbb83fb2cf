#!/usr/bin/env bash
# Prometheus without Docker, for services-up.sh / services-down.sh (sourced after services-env.sh).
#
# Runs Debian's `prometheus` package (2.42) loopback-only on PROMETHEUS_PORT (default 9090), with its data under
# $ANALYTICS_STATE_DIR/prometheus and a config generated from infra/prometheus/prometheus.yml: the compose
# service names become 127.0.0.1 and the native ports (ingest worker ANALYTICS_WORKER_PORT=5081, projection worker
# ANALYTICS_PROJECTION_WORKER_PORT=5082, API ANALYTICS_API_PORT=5080, RabbitMQ RABBITMQ_PROMETHEUS_PORT).
#
# Optional: it starts when the prometheus binary is installed. ANALYTICS_PROMETHEUS=1 installs it with apt-get
# (as root) first; ANALYTICS_PROMETHEUS=0 skips it. run-platform.sh sets ANALYTICS_PROMETHEUS=1. It loads the
# pipeline-health alerting rules of infra/prometheus/alerts.yml (Status → Rules, Alerts; docs/operations.md). The tests
# start a Prometheus of their own (its binary and promtool from the same package; run-tests.sh installs it).

export PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
export ANALYTICS_WORKER_PORT="${ANALYTICS_WORKER_PORT:-5081}" ANALYTICS_API_PORT="${ANALYTICS_API_PORT:-5080}"
export ANALYTICS_PROJECTION_WORKER_PORT="${ANALYTICS_PROJECTION_WORKER_PORT:-5082}"
export PROMETHEUS_STATE_DIR="$ANALYTICS_STATE_DIR/prometheus"
export PROMETHEUS_PID_FILE="$PROMETHEUS_STATE_DIR/prometheus.pid"
export PROMETHEUS_CONFIG="$PROMETHEUS_STATE_DIR/prometheus.yml"
export PROMETHEUS_LOG="$PROMETHEUS_STATE_DIR/prometheus.log"

prometheus_bin() { command -v prometheus 2>/dev/null || { [[ -x /usr/bin/prometheus ]] && echo /usr/bin/prometheus; }; }

# The compose config with native addresses, and its alerting rules (rule_files: alerts.yml, beside it).
prom_write_config() {
  cp "$ANALYTICS_REPO_ROOT/infra/prometheus/alerts.yml" "$PROMETHEUS_STATE_DIR/alerts.yml"
  sed -e "s/\"worker:8081\"/\"127.0.0.1:$ANALYTICS_WORKER_PORT\"/" \
      -e "s/\"worker-projections:8081\"/\"127.0.0.1:$ANALYTICS_PROJECTION_WORKER_PORT\"/" \
      -e "s/\"api:8080\"/\"127.0.0.1:$ANALYTICS_API_PORT\"/" \
      -e "s/\"rabbitmq:15692\"/\"127.0.0.1:$RABBITMQ_PROMETHEUS_PORT\"/" \
      "$ANALYTICS_REPO_ROOT/infra/prometheus/prometheus.yml" >"$PROMETHEUS_CONFIG"
  if grep -Eq '"(worker|worker-projections|api|rabbitmq):' "$PROMETHEUS_CONFIG"; then
    die "infra/prometheus/prometheus.yml has a target prometheus-native.sh does not translate; see $PROMETHEUS_CONFIG"
  fi
  if command -v promtool >/dev/null; then
    promtool check config "$PROMETHEUS_CONFIG" >/dev/null || die "Prometheus config or rules do not load: promtool check config $PROMETHEUS_CONFIG"
  fi
}

prom_up() {
  [[ ${ANALYTICS_PROMETHEUS:-} == 0 ]] && { log "Prometheus: skipped (ANALYTICS_PROMETHEUS=0)"; return; }
  if ! prometheus_bin >/dev/null; then
    if [[ ${ANALYTICS_PROMETHEUS:-} == 1 ]]; then
      [[ $(id -u) -eq 0 ]] || die "need root to apt-get install prometheus"
      log "Prometheus: installing Debian's prometheus package (ANALYTICS_PROMETHEUS=1)"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      # policy-rc.d keeps the package's own service (all interfaces, :9090) from starting where one is set up.
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null
    else
      log "Prometheus: not installed; skipped (ANALYTICS_PROMETHEUS=1 installs it: apt-get install prometheus)"
      return
    fi
  fi
  mkdir -p "$PROMETHEUS_STATE_DIR/data"
  prom_write_config
  if pid_alive "$PROMETHEUS_PID_FILE" prometheus; then
    log "Prometheus: reloading the running server (pid $(cat "$PROMETHEUS_PID_FILE")) with $PROMETHEUS_CONFIG"
    kill -HUP "$(cat "$PROMETHEUS_PID_FILE")"
    return
  fi
  port_open "$PROMETHEUS_PORT" && die "port $PROMETHEUS_PORT (PROMETHEUS_PORT) is taken by another process"
  log "Prometheus: starting on http://127.0.0.1:$PROMETHEUS_PORT (config $PROMETHEUS_CONFIG, log $PROMETHEUS_LOG)"
  setsid "$(prometheus_bin)" --config.file="$PROMETHEUS_CONFIG" --storage.tsdb.path="$PROMETHEUS_STATE_DIR/data" \
    --storage.tsdb.retention.time=7d --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    </dev/null >>"$PROMETHEUS_LOG" 2>&1 9>&- &
  echo $! >"$PROMETHEUS_PID_FILE"
  local i
  for ((i = 0; i < 60; i++)); do
    curl -fsS -o /dev/null "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" 2>/dev/null && { log "Prometheus: ready"; return; }
    pid_alive "$PROMETHEUS_PID_FILE" prometheus || { tail -n 20 "$PROMETHEUS_LOG" >&2; die "Prometheus exited (log: $PROMETHEUS_LOG)"; }
    sleep 0.5
  done
  warn "Prometheus did not report ready in 30 s (log: $PROMETHEUS_LOG)"
}

prom_down() {
  if pid_alive "$PROMETHEUS_PID_FILE" prometheus; then
    local pid i; pid=$(cat "$PROMETHEUS_PID_FILE")
    log "Prometheus: stopping (pid $pid)"
    kill "$pid"
    for ((i = 0; i < 60; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { warn "Prometheus still running; sending KILL"; kill -9 "$pid" 2>/dev/null || true; }
  else
    log "Prometheus: not running from $PROMETHEUS_STATE_DIR"
  fi
  rm -f "$PROMETHEUS_PID_FILE"
}
