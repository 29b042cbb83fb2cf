#!/usr/bin/env bash
# Start PostgreSQL 15 and RabbitMQ for local development and tests.
#
#   infra/scripts/services-up.sh          # idempotent: reuses servers already answering
#
# Without a Docker engine (the usual case here and in CI) both run natively as
# loopback-only servers with all their state under ${ANALYTICS_STATE_DIR:-<repo>/.local}.
# When `docker info` succeeds, `docker compose up -d postgres rabbitmq` is used instead
# (force either with ANALYTICS_SERVICES_MODE=native|docker).
#
# Env (defaults): PG_PORT=5432 RABBITMQ_PORT=5672 RABBITMQ_MANAGEMENT_PORT=15672
#   RABBITMQ_DIST_PORT=25672 RABBITMQ_PROMETHEUS_PORT=15692 ERL_EPMD_PORT=4369
#   PROMETHEUS_PORT=9090 (Prometheus runs natively when installed; ANALYTICS_PROMETHEUS=1 installs it,
#   =0 skips it: see prometheus-native.sh)
# Stop with infra/scripts/services-down.sh.
set -euo pipefail

# shellcheck source=infra/scripts/services-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/services-env.sh"
# shellcheck source=infra/scripts/prometheus-native.sh
source "$(dirname "${BASH_SOURCE[0]}")/prometheus-native.sh"

apt_install() {
  [[ $(id -u) -eq 0 ]] || die "need root to apt-get install $*"
  log "installing $* with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

# ============================================================ Docker path
docker_up() {
  log "Docker engine found: docker compose up -d postgres rabbitmq"
  (cd "$ANALYTICS_REPO_ROOT" && docker compose up -d postgres rabbitmq)
  local svc id status deadline=$((SECONDS + 180))
  for svc in postgres rabbitmq; do
    id=$(cd "$ANALYTICS_REPO_ROOT" && docker compose ps -q "$svc")
    [[ -n $id ]] || die "docker compose did not start $svc"
    while :; do
      status=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")
      [[ $status == healthy ]] && { log "$svc is healthy"; break; }
      ((SECONDS < deadline)) || die "$svc not healthy after 180 s (status: $status); see: docker compose logs $svc"
      sleep 2
    done
  done
}

# ============================================================ PostgreSQL (native)
# Every directory above the state dir must be traversable (x) by the postgres user.
pg_make_path_traversable() {
  local d=$ANALYTICS_STATE_DIR
  while [[ -n $d && $d != / ]]; do
    if ! runuser -u "$PG_OS_USER" -- test -x "$d" 2>/dev/null; then
      log "chmod o+x $d (so user $PG_OS_USER can reach its data dir)"
      chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
}

pg_apply_init_sql() {
  log "PostgreSQL: ensuring role '$ANALYTICS_DB_USER' (LOGIN CREATEDB) and database '$ANALYTICS_DB_NAME' ($PG_INIT_SQL)"
  # Fed on stdin, so the postgres user does not need to read the repo.
  # Then the read-only Grafana role and the DML-only application role (own files, also mounted by docker-compose).
  cat "$PG_INIT_SQL" "$ANALYTICS_REPO_ROOT/infra/postgres/dashboard-reader.sql" "$ANALYTICS_REPO_ROOT/infra/postgres/app-role.sql" \
    | pg_psql_super -q -d postgres >/dev/null
}

pg_check_app_login() {
  if PGPASSWORD=$ANALYTICS_DB_PASSWORD psql -X -q -w -h 127.0.0.1 -p "$PG_PORT" -U "$ANALYTICS_DB_USER" \
       -d "$ANALYTICS_DB_NAME" -tAc 'select 1' >/dev/null 2>&1; then
    log "PostgreSQL: '$ANALYTICS_DB_USER' can log in over TCP 127.0.0.1:$PG_PORT"
  else
    warn "PostgreSQL on 127.0.0.1:$PG_PORT answers but '$ANALYTICS_DB_USER'/'$ANALYTICS_DB_PASSWORD' cannot log in to '$ANALYTICS_DB_NAME'"
    return 1
  fi
}

pg_up() {
  if ! pg_bin_dir >/dev/null; then apt_install postgresql; fi
  local bindir; bindir=$(pg_bin_dir) || die "PostgreSQL binaries still missing after install"
  [[ -x $bindir/initdb ]] || die "initdb not found in $bindir"

  if pg_running_ours; then
    port_open "$PG_PORT" || die "our PostgreSQL ($PG_DATA) runs but not on 127.0.0.1:$PG_PORT; run services-down.sh first"
    log "PostgreSQL: reusing the running server ($PG_DATA, port $PG_PORT)"
    local shared_buffers
    shared_buffers=$(pg_psql_super -d postgres -tAc 'show shared_buffers' 2>/dev/null || true)
    if [[ $PG_SERVER_SETTINGS == *"shared_buffers=$shared_buffers"* ]]; then :; else
      warn "the running server has shared_buffers=$shared_buffers, not the settings of this script ($PG_SERVER_SETTINGS): services-down.sh then services-up.sh applies them"
    fi
    pg_apply_init_sql
    pg_check_app_login
    return
  fi
  if port_open "$PG_PORT"; then
    log "PostgreSQL: something already answers on 127.0.0.1:$PG_PORT (not started from $PG_DATA); reusing it"
    pg_check_app_login || warn "create the role with: psql -U <superuser> -h 127.0.0.1 -p $PG_PORT -d postgres -f $PG_INIT_SQL"
    return
  fi

  mkdir -p "$ANALYTICS_STATE_DIR"
  pg_make_path_traversable
  mkdir -p "$PG_STATE_DIR" "$PG_SOCKET_DIR"
  chown -R "$PG_OS_USER:$PG_OS_USER" "$PG_STATE_DIR"
  chmod 700 "$PG_STATE_DIR"

  local sock="$PG_SOCKET_DIR/.s.PGSQL.$PG_PORT"
  ((${#sock} <= 107)) || die "unix socket path too long (${#sock} > 107): $sock; set a shorter ANALYTICS_STATE_DIR"

  if [[ ! -s $PG_DATA/PG_VERSION ]]; then
    log "PostgreSQL: initdb $PG_DATA"
    pg_as_postgres initdb -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$PG_STATE_DIR/initdb.log" 2>&1 \
      || { cat "$PG_STATE_DIR/initdb.log" >&2; die "initdb failed"; }
  fi

  log "PostgreSQL: starting on 127.0.0.1:$PG_PORT (socket dir $PG_SOCKET_DIR, log $PG_LOG)"
  if ! pg_as_postgres pg_ctl -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_SOCKET_DIR -c max_connections=$PG_MAX_CONNECTIONS $PG_SERVER_SETTINGS" \
        start >/dev/null; then
    tail -n 30 "$PG_LOG" >&2 || true
    die "PostgreSQL failed to start (log: $PG_LOG)"
  fi
  pg_apply_init_sql
  pg_check_app_login
}

# ============================================================ RabbitMQ (native)
rmq_prepare_dirs() {
  mkdir -p "$RABBITMQ_HOME_DIR" "$RABBITMQ_STATE_DIR/etc" "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
  chmod 700 "$RABBITMQ_HOME_DIR"

  # The Erlang cookie lives in our HOME; server and CLI both use it (same HOME).
  local cookie="$RABBITMQ_HOME_DIR/.erlang.cookie"
  if [[ ! -s $cookie ]]; then
    log "RabbitMQ: creating Erlang cookie $cookie"
    (umask 077; od -An -N20 -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F' >"$cookie")
  fi
  chmod 400 "$cookie"

  sed -e "s/@@RABBITMQ_PORT@@/$RABBITMQ_PORT/g" \
      -e "s/@@RABBITMQ_MANAGEMENT_PORT@@/$RABBITMQ_MANAGEMENT_PORT/g" \
      -e "s/@@RABBITMQ_PROMETHEUS_PORT@@/$RABBITMQ_PROMETHEUS_PORT/g" \
      "$RABBITMQ_TEMPLATE_DIR/rabbitmq.conf.template" >"$RABBITMQ_CONFIG_FILE"
  cp "$RABBITMQ_TEMPLATE_DIR/enabled_plugins" "$RABBITMQ_ENABLED_PLUGINS_FILE"
  # Empty on purpose: keeps /etc/rabbitmq/rabbitmq-env.conf out; everything comes from services-env.sh.
  echo "# generated by services-up.sh; settings come from infra/scripts/services-env.sh" >"$RABBITMQ_CONF_ENV_FILE"
}

# Start epmd ourselves (loopback only) so that we know its PID and services-down.sh can stop it.
rmq_ensure_epmd() {
  if port_open "$ERL_EPMD_PORT"; then
    if pid_alive "$RABBITMQ_EPMD_PID_FILE" epmd; then
      log "RabbitMQ: reusing our epmd (pid $(cat "$RABBITMQ_EPMD_PID_FILE"), 127.0.0.1:$ERL_EPMD_PORT)"
    else
      log "RabbitMQ: an epmd not started by this script answers on port $ERL_EPMD_PORT; using it"
      rm -f "$RABBITMQ_EPMD_PID_FILE"
    fi
    return
  fi
  local epmd pid i
  epmd=$(epmd_bin) || die "epmd not found (is erlang installed?)"
  setsid "$epmd" -address 127.0.0.1 -port "$ERL_EPMD_PORT" </dev/null >>"$RABBITMQ_LOG_BASE/epmd.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$RABBITMQ_EPMD_PID_FILE"
  for ((i = 0; i < 40; i++)); do port_open "$ERL_EPMD_PORT" && break; sleep 0.25; done
  pid_alive "$RABBITMQ_EPMD_PID_FILE" epmd || die "epmd failed to start (see $RABBITMQ_LOG_BASE/epmd.log)"
  log "RabbitMQ: started epmd on 127.0.0.1:$ERL_EPMD_PORT (pid $pid)"
}

rmq_setup_users() {
  local u=$ANALYTICS_MQ_USER vh=$ANALYTICS_MQ_VHOST users vhosts
  log "RabbitMQ: ensuring user '$u' (administrator) with full permissions on vhosts '/' and '$vh'; removing 'guest'"
  # Capture first: `cmd | grep -q` can fail under pipefail when grep exits early.
  users=$(rmq_ctl --silent list_users | awk '{print $1}')
  if grep -qx "$u" <<<"$users"; then
    rmq_ctl -q change_password "$u" "$ANALYTICS_MQ_PASSWORD" >/dev/null
  else
    rmq_ctl -q add_user "$u" "$ANALYTICS_MQ_PASSWORD" >/dev/null
  fi
  rmq_ctl -q set_user_tags "$u" administrator >/dev/null
  vhosts=$(rmq_ctl --silent list_vhosts)
  if ! grep -qx "$vh" <<<"$vhosts"; then
    rmq_ctl -q add_vhost "$vh" >/dev/null
  fi
  rmq_ctl -q set_permissions -p / "$u" '.*' '.*' '.*' >/dev/null
  rmq_ctl -q set_permissions -p "$vh" "$u" '.*' '.*' '.*' >/dev/null
  if grep -qx guest <<<"$users"; then
    rmq_ctl -q delete_user guest >/dev/null
  fi
}

# Least privilege (docs/security.md): the worker's user may configure, write and read in vhost analytics only (what
# MassTransit needs for its queues and exchanges), no tags (no management, no users or vhosts); the chat services'
# user may only (declare and) write to the ingestion exchange: no queues, no reads, no other exchange. 'analytics'
# above is the administrator.
rmq_setup_role_users() {
  local vh=$ANALYTICS_MQ_VHOST users u pw
  users=$(rmq_ctl --silent list_users | awk '{print $1}')
  for u in "$ANALYTICS_MQ_WORKER_USER:$ANALYTICS_MQ_WORKER_PASSWORD" "$ANALYTICS_MQ_PUBLISHER_USER:$ANALYTICS_MQ_PUBLISHER_PASSWORD"; do
    pw=${u#*:} u=${u%%:*}
    if grep -qx "$u" <<<"$users"; then
      rmq_ctl -q change_password "$u" "$pw" >/dev/null
    else
      rmq_ctl -q add_user "$u" "$pw" >/dev/null
    fi
    rmq_ctl -q set_user_tags "$u" >/dev/null
  done
  log "RabbitMQ: user '$ANALYTICS_MQ_WORKER_USER' (vhost '$vh' only, no tags), '$ANALYTICS_MQ_PUBLISHER_USER' (write to $ANALYTICS_MQ_INGEST_EXCHANGE only)"
  rmq_ctl -q set_permissions -p "$vh" "$ANALYTICS_MQ_WORKER_USER" '.*' '.*' '.*' >/dev/null
  # configure on the ingestion exchange alone: MassTransit (Analytics.Publisher) re-declares the exchange it sends to.
  local ingest="^${ANALYTICS_MQ_INGEST_EXCHANGE//./\\.}\$"
  rmq_ctl -q set_permissions -p "$vh" "$ANALYTICS_MQ_PUBLISHER_USER" "$ingest" "$ingest" '^$' >/dev/null
}

# Retention of the refused and error queues (docs/security.md, "Queue retention"): a policy rather than queue
# arguments, since RabbitMQ refuses a redeclare whose arguments differ from the existing queue's (PRECONDITION_FAILED).
# Oldest messages go first once a queue holds ANALYTICS_RETENTION_MAX_LENGTH messages or a message is older than
# ANALYTICS_RETENTION_MAX_AGE_MS.
rmq_setup_retention() {
  local max_length=${ANALYTICS_RETENTION_MAX_LENGTH:-100000} max_age=${ANALYTICS_RETENTION_MAX_AGE_MS:-1209600000}
  rmq_ctl -q set_policy -p "$ANALYTICS_MQ_VHOST" --apply-to queues --priority 10 analytics-retention \
    '^analytics-ingest(-refused|_error)$' "{\"max-length\":$max_length,\"message-ttl\":$max_age}" >/dev/null
  log "RabbitMQ: retention policy on the refused and error queues (max-length $max_length, message-ttl $max_age ms)"
}

rmq_up() {
  if [[ ! -x $RABBITMQ_SBIN/rabbitmq-server ]]; then apt_install rabbitmq-server; fi
  [[ -x $RABBITMQ_SBIN/rabbitmq-server ]] || die "$RABBITMQ_SBIN/rabbitmq-server still missing after install"

  mkdir -p "$ANALYTICS_STATE_DIR"
  rmq_prepare_dirs

  if rmq_node_running; then
    log "RabbitMQ: reusing the running node $RABBITMQ_NODENAME"
    rmq_ctl wait --timeout 120 "$RABBITMQ_PID_FILE" >/dev/null
    rmq_setup_users
    rmq_setup_role_users
    rmq_setup_retention
    return
  fi
  if port_open "$RABBITMQ_PORT"; then
    log "RabbitMQ: a broker not started by this script answers on 127.0.0.1:$RABBITMQ_PORT; reusing it (user setup skipped)"
    return
  fi
  if port_open "$RABBITMQ_DIST_PORT"; then
    die "port $RABBITMQ_DIST_PORT (RABBITMQ_DIST_PORT) is taken by another process"
  fi

  rmq_ensure_epmd
  log "RabbitMQ: starting node $RABBITMQ_NODENAME (amqp 127.0.0.1:$RABBITMQ_PORT, logs $RABBITMQ_LOG_BASE)"
  rm -f "$RABBITMQ_PID_FILE"
  (cd "$RABBITMQ_STATE_DIR" && rmq_env "$RABBITMQ_SBIN/rabbitmq-server" -detached) \
    || die "rabbitmq-server -detached failed"
  log "RabbitMQ: waiting for the node (rabbitmqctl wait --timeout 120)"
  if ! rmq_ctl wait --timeout 120 "$RABBITMQ_PID_FILE" >/dev/null; then
    tail -n 40 "$RABBITMQ_LOG_BASE/$RABBITMQ_NODENAME.log" >&2 2>/dev/null || true
    die "RabbitMQ did not come up (logs: $RABBITMQ_LOG_BASE)"
  fi
  rmq_setup_users
  rmq_setup_role_users
  rmq_setup_retention
}

rmq_check_management() {
  local i
  for ((i = 0; i < 60; i++)); do
    if curl -fsS -o /dev/null -u "$ANALYTICS_MQ_USER:$ANALYTICS_MQ_PASSWORD" \
         "http://127.0.0.1:$RABBITMQ_MANAGEMENT_PORT/api/overview" 2>/dev/null; then
      log "RabbitMQ: management API answers on 127.0.0.1:$RABBITMQ_MANAGEMENT_PORT"
      return
    fi
    sleep 0.5
  done
  warn "RabbitMQ management API did not answer on 127.0.0.1:$RABBITMQ_MANAGEMENT_PORT"
}

# ============================================================ main
services_lock
if docker_available; then
  docker_up
else
  log "no Docker engine: running PostgreSQL and RabbitMQ natively (state: $ANALYTICS_STATE_DIR)"
  pg_up
  rmq_up
  rmq_check_management
  prom_up
fi

cat <<MSG

Services are up (loopback only).
  PostgreSQL : $ANALYTICS_PG_CONNECTION
               $ANALYTICS_PG_URL
  RabbitMQ   : $ANALYTICS_AMQP_URI
  Management : $ANALYTICS_RABBITMQ_MANAGEMENT_URL  (user $ANALYTICS_MQ_USER / $ANALYTICS_MQ_PASSWORD)
  RabbitMQ metrics : http://127.0.0.1:$RABBITMQ_PROMETHEUS_PORT/metrics
  Least privilege (docs/security.md): PostgreSQL $ANALYTICS_DB_APP_USER (rows only; the hosts serve as it),
               RabbitMQ $ANALYTICS_MQ_WORKER_USER (worker), $ANALYTICS_MQ_PUBLISHER_USER (publish to $ANALYTICS_MQ_INGEST_EXCHANGE only)
For the .NET hosts: source infra/scripts/services-env.sh  (exports ConnectionStrings__Marten, RabbitMq__Uri as those users)
Stop with      : infra/scripts/services-down.sh
MSG
