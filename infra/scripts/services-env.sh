#!/usr/bin/env bash
# Shared settings and helpers for services-up.sh / services-down.sh.
#
# Source it to get the same environment the scripts use, e.g. to run rabbitmqctl
# against the project-local node or psql against the project-local PostgreSQL:
#
#   source infra/scripts/services-env.sh
#   rmq_ctl status
#   pg_as_postgres psql -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -c 'select 1'
#
# Everything listens on 127.0.0.1 only. All state lives under ANALYTICS_STATE_DIR
# (default: <repo>/.local).

# ---------------------------------------------------------------- locations
ANALYTICS_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ANALYTICS_REPO_ROOT
export ANALYTICS_STATE_DIR="${ANALYTICS_STATE_DIR:-$ANALYTICS_REPO_ROOT/.local}"
# auto: use Docker when an engine answers, else run natively. Also: native | docker.
export ANALYTICS_SERVICES_MODE="${ANALYTICS_SERVICES_MODE:-auto}"

# ---------------------------------------------------------------- ports
export PG_PORT="${PG_PORT:-5432}"
export RABBITMQ_PORT="${RABBITMQ_PORT:-5672}"
export RABBITMQ_MANAGEMENT_PORT="${RABBITMQ_MANAGEMENT_PORT:-15672}"
export RABBITMQ_DIST_PORT="${RABBITMQ_DIST_PORT:-25672}"
export RABBITMQ_PROMETHEUS_PORT="${RABBITMQ_PROMETHEUS_PORT:-15692}"
export ERL_EPMD_PORT="${ERL_EPMD_PORT:-4369}"
export ERL_EPMD_ADDRESS=127.0.0.1

# ---------------------------------------------------------------- credentials (local dev only)
export ANALYTICS_DB_USER=analytics ANALYTICS_DB_PASSWORD=analytics ANALYTICS_DB_NAME=analytics
export ANALYTICS_MQ_USER=analytics ANALYTICS_MQ_PASSWORD=analytics ANALYTICS_MQ_VHOST=analytics
# Least privilege (README "Credentials", docs/security.md): 'analytics' above is the PostgreSQL schema owner and the
# RabbitMQ administrator; the hosts run as these.
export ANALYTICS_DB_APP_USER=analytics_app ANALYTICS_DB_APP_PASSWORD=analytics_app
export ANALYTICS_MQ_WORKER_USER=analytics_worker ANALYTICS_MQ_WORKER_PASSWORD=analytics_worker
export ANALYTICS_MQ_PUBLISHER_USER=analytics_publisher ANALYTICS_MQ_PUBLISHER_PASSWORD=analytics_publisher
export ANALYTICS_MQ_INGEST_EXCHANGE=analytics.ingest

export ANALYTICS_PG_CONNECTION="Host=127.0.0.1;Port=${PG_PORT};Database=${ANALYTICS_DB_NAME};Username=${ANALYTICS_DB_USER};Password=${ANALYTICS_DB_PASSWORD}"
export ANALYTICS_PG_URL="postgresql://${ANALYTICS_DB_USER}:${ANALYTICS_DB_PASSWORD}@127.0.0.1:${PG_PORT}/${ANALYTICS_DB_NAME}"
export ANALYTICS_AMQP_URI="amqp://${ANALYTICS_MQ_USER}:${ANALYTICS_MQ_PASSWORD}@127.0.0.1:${RABBITMQ_PORT}/${ANALYTICS_MQ_VHOST}"
export ANALYTICS_PG_APP_CONNECTION="Host=127.0.0.1;Port=${PG_PORT};Database=${ANALYTICS_DB_NAME};Username=${ANALYTICS_DB_APP_USER};Password=${ANALYTICS_DB_APP_PASSWORD}"
export ANALYTICS_AMQP_WORKER_URI="amqp://${ANALYTICS_MQ_WORKER_USER}:${ANALYTICS_MQ_WORKER_PASSWORD}@127.0.0.1:${RABBITMQ_PORT}/${ANALYTICS_MQ_VHOST}"
export ANALYTICS_AMQP_PUBLISHER_URI="amqp://${ANALYTICS_MQ_PUBLISHER_USER}:${ANALYTICS_MQ_PUBLISHER_PASSWORD}@127.0.0.1:${RABBITMQ_PORT}/${ANALYTICS_MQ_VHOST}"
export ANALYTICS_RABBITMQ_MANAGEMENT_URL="http://127.0.0.1:${RABBITMQ_MANAGEMENT_PORT}/"
# The names the .NET hosts read (ConnectionStrings:Marten, RabbitMq:Uri), least privilege: the DML-only role (the
# worker applies schema changes with EventStore:OwnerUsername/OwnerPassword from its appsettings) and the worker's
# broker user. The owner/administrator URLs are ANALYTICS_PG_CONNECTION / ANALYTICS_AMQP_URI above.
export ConnectionStrings__Marten="$ANALYTICS_PG_APP_CONNECTION"
export RabbitMq__Uri="$ANALYTICS_AMQP_WORKER_URI"

# ---------------------------------------------------------------- PostgreSQL layout
# The postgres/ folder is owned by user postgres; the data dir, socket and log are inside it.
export PG_OS_USER=postgres
export PG_STATE_DIR="$ANALYTICS_STATE_DIR/postgres"
export PG_DATA="$PG_STATE_DIR/data"
export PG_SOCKET_DIR="$PG_STATE_DIR/run"
export PG_LOG="$PG_STATE_DIR/postgres.log"
export PG_MAX_CONNECTIONS="${PG_MAX_CONNECTIONS:-200}"
# Server settings passed on the postgres command line at every start (so an existing data dir gets them too); all
# durability-neutral: memory and checkpoint spacing only (fsync, synchronous_commit and full_page_writes stay on). A
# projection rebuild writes ~10 MB of WAL per 10,000-event daemon page: with the defaults (128MB shared buffers, 4MB WAL
# buffers, max_wal_size 1GB) a 1M-event rebuild set off a WAL-triggered checkpoint and its backends wrote dirty buffers
# and WAL themselves (docs/performance-archive.md, read side, 2026-11-28 run B).
# Shared buffers follow the machine (about a sixth of its memory, 512MB to 4GB): at 10M events 512MB left the backends
# reading and writing data pages themselves during ingestion + projection (performance-archive.md, read side, 2026-12-04 run A).
if [[ -z ${PG_SHARED_BUFFERS:-} ]]; then
  _mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo 2>/dev/null || echo 0)
  if ((_mem_mb >= 24000)); then PG_SHARED_BUFFERS=4GB
  elif ((_mem_mb >= 12000)); then PG_SHARED_BUFFERS=2GB
  elif ((_mem_mb >= 6000)); then PG_SHARED_BUFFERS=1GB
  else PG_SHARED_BUFFERS=512MB
  fi
  unset _mem_mb
fi
export PG_SHARED_BUFFERS
export PG_SERVER_SETTINGS="${PG_SERVER_SETTINGS:--c shared_buffers=$PG_SHARED_BUFFERS -c wal_buffers=16MB -c max_wal_size=4GB -c checkpoint_timeout=15min}"
export PG_INIT_SQL="$ANALYTICS_REPO_ROOT/infra/postgres/init.sql"

# ---------------------------------------------------------------- RabbitMQ layout
export RABBITMQ_SBIN=/usr/lib/rabbitmq/bin
export RABBITMQ_STATE_DIR="$ANALYTICS_STATE_DIR/rabbitmq"
export RABBITMQ_NODENAME="${RABBITMQ_NODENAME:-analytics@localhost}"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT="$RABBITMQ_PORT"
export RABBITMQ_CONFIG_FILE="$RABBITMQ_STATE_DIR/etc/rabbitmq.conf"
export RABBITMQ_ENABLED_PLUGINS_FILE="$RABBITMQ_STATE_DIR/etc/enabled_plugins"
export RABBITMQ_CONF_ENV_FILE="$RABBITMQ_STATE_DIR/etc/rabbitmq-env.conf"
export RABBITMQ_MNESIA_BASE="$RABBITMQ_STATE_DIR/mnesia"
export RABBITMQ_LOG_BASE="$RABBITMQ_STATE_DIR/log"
export RABBITMQ_PID_FILE="$RABBITMQ_STATE_DIR/rabbitmq.pid"
# Without inet_dist_use_interface the distribution port binds to all interfaces
# (the server's and the short-lived CLI nodes').
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
# -start_epmd false: a CLI call (e.g. ping) must never spawn a stray epmd; services-up.sh starts
# epmd itself (loopback only) and records its PID so services-down.sh can stop it.
export RABBITMQ_CTL_ERL_ARGS="-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_HOME_DIR="$RABBITMQ_STATE_DIR/home"      # HOME for server and CLI (Erlang cookie)
export RABBITMQ_EPMD_PID_FILE="$RABBITMQ_STATE_DIR/epmd.pid"
export RABBITMQ_TEMPLATE_DIR="$ANALYTICS_REPO_ROOT/infra/rabbitmq"

# ---------------------------------------------------------------- helpers
log()  { printf '[services] %s\n' "$*"; }
warn() { printf '[services] WARNING: %s\n' "$*" >&2; }
die()  { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# port_open PORT -> true when something accepts TCP connections on 127.0.0.1:PORT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port_closed PORT SECONDS
wait_port_closed() {
  local port=$1 secs=${2:-30} i
  for ((i = 0; i < secs * 2; i++)); do port_open "$port" || return 0; sleep 0.5; done
  return 1
}

docker_available() {
  case "$ANALYTICS_SERVICES_MODE" in
    native) return 1 ;;
    docker) return 0 ;;
  esac
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# pid_alive PIDFILE [COMM] -> true when the pid in PIDFILE runs (and its command name is COMM)
pid_alive() {
  local f=$1 comm=${2:-} pid
  [[ -s $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ -z $comm ]] || [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]]
}

# --- PostgreSQL
pg_bin_dir() {
  local d
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return; fi
  for d in /usr/lib/postgresql/*/bin; do [[ -x $d/pg_ctl ]] && { echo "$d"; return; }; done
  return 1
}

# Run a command as the postgres OS user (PostgreSQL refuses to run as root).
pg_as_postgres() {
  local bindir
  bindir=$(pg_bin_dir) || die "PostgreSQL binaries not found"
  # 9>&- below: the server must not inherit the services_lock descriptor.
  if [[ $(id -u) -eq 0 ]]; then
    # runuser/su without '-' would keep root's cwd, which postgres may not be allowed to enter.
    (cd / && runuser -u "$PG_OS_USER" -- env PATH="$bindir:$PATH" "$@" 9>&-)
  elif [[ $(id -un) == "$PG_OS_USER" ]]; then
    (PATH="$bindir:$PATH" "$@" 9>&-)
  else
    die "run as root or as $PG_OS_USER"
  fi
}

pg_running_ours() { [[ -d $PG_DATA ]] && pg_as_postgres pg_ctl -D "$PG_DATA" status >/dev/null 2>&1; }

# Run psql as the postgres superuser over our unix socket.
pg_psql_super() {
  pg_as_postgres psql -X -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres "$@"
}

# --- RabbitMQ (run the real scripts with our HOME so the CLI finds the same Erlang cookie)
# 9>&-: daemons must not inherit the services_lock descriptor.
rmq_env() { env HOME="$RABBITMQ_HOME_DIR" "$@" 9>&-; }
rmq_ctl() { rmq_env "$RABBITMQ_SBIN/rabbitmqctl" -n "$RABBITMQ_NODENAME" "$@"; }
# No epmd means no distributed node can be running; do not even ask.
rmq_node_running() {
  [[ -d $RABBITMQ_HOME_DIR ]] && port_open "$ERL_EPMD_PORT" && rmq_ctl -q ping >/dev/null 2>&1
}

epmd_bin() {
  local b
  b=$(command -v epmd 2>/dev/null) && { echo "$b"; return; }
  for b in /usr/lib/erlang/erts-*/bin/epmd; do [[ -x $b ]] && { echo "$b"; return; }; done
  return 1
}

# Serialize services-up.sh / services-down.sh runs that share a state dir (held until exit).
services_lock() {
  mkdir -p "$ANALYTICS_STATE_DIR"
  exec 9>"$ANALYTICS_STATE_DIR/.services.lock"
  if ! flock -n 9; then
    log "another services-up/down run holds $ANALYTICS_STATE_DIR/.services.lock; waiting (up to 300 s)"
    flock -w 300 9 || die "timed out waiting for the lock"
  fi
}

# ensure_dotnet -> the .NET 10 SDK is on PATH (installs it with Microsoft's dotnet-install script
# into ~/.dotnet when missing; the machines this project targets already have it)
ensure_dotnet() {
  if command -v dotnet >/dev/null 2>&1 && dotnet --list-sdks 2>/dev/null | grep -q '^10\.'; then
    return 0
  fi
  if [[ -x $HOME/.dotnet/dotnet ]]; then
    export PATH="$HOME/.dotnet:$PATH"
    return 0
  fi
  log "installing the .NET 10 SDK into ~/.dotnet"
  command -v curl >/dev/null 2>&1 || { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y curl; }
  curl -fsSL https://dot.net/v1/dotnet-install.sh -o /tmp/dotnet-install.sh
  bash /tmp/dotnet-install.sh --channel 10.0 --install-dir "$HOME/.dotnet"
  export PATH="$HOME/.dotnet:$PATH"
}
