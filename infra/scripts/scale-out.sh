#!/usr/bin/env bash
# Scale-out run: two workers and two API hosts (each on its own loopback port) against one RabbitMQ and one
# PostgreSQL, fed by the fault suite's ledger producer (publisher confirms, retries with the same eventIds). One worker
# and one API host are SIGKILLed after a third of the traffic; the surviving API keeps being queried; at the end the
# ledger is compared with the event store and the satisfaction tables with a recount (docs/operations.md).
#
#   infra/scripts/scale-out.sh                                   # 3000 conversations (~12,700 events) at 150 msg/s
#   infra/scripts/scale-out.sh --conversations 10000 --rate 300
#
# Uses the services of services-up.sh (started if needed; same env: ports, ANALYTICS_STATE_DIR) and a fresh
# database and vhost of its own, dropped afterwards. Logs of the hosts: .local/scale-out/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/services-env.sh"
cd "$ANALYTICS_REPO_ROOT"

ensure_dotnet
infra/scripts/services-up.sh >/dev/null
log "building the worker, the API and the benchmarks (Release)"
for project in Analytics.Worker Analytics.Api Analytics.Benchmarks; do
  dotnet build "src/$project/$project.csproj" -c Release -nologo -v q >/dev/null
done
exec dotnet src/Analytics.Benchmarks/bin/Release/net10.0/Analytics.Benchmarks.dll scale-out "$@"
